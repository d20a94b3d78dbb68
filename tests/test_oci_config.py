"""config.json parsing (oci/config.py) checked against the runtime-spec JSON schema from Debian's
golang-github-opencontainers-specs-dev: what the schema accepts we accept, and for the invalid
configs below both reject it and we name the field."""
import copy
import json
import os

import pytest

from snakevisor.oci.config import ConfigError, Mount, parse_process, parse_spec, tmpfs_params
from snakevisor.oci.spec import default_spec

SCHEMA_DIR = "/usr/share/gocode/src/github.com/opencontainers/runtime-spec/schema"


@pytest.fixture(scope="module")
def validator():
    jsonschema = pytest.importorskip("jsonschema", reason="python3 jsonschema is not installed")
    if not os.path.isfile(os.path.join(SCHEMA_DIR, "config-schema.json")):
        pytest.skip("runtime-spec schema not installed (apt install golang-github-opencontainers-specs-dev)")
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4
    resources = []
    for name in os.listdir(SCHEMA_DIR):
        if name.endswith(".json"):
            with open(os.path.join(SCHEMA_DIR, name)) as f:
                res = Resource.from_contents(json.load(f), default_specification=DRAFT4)
            # $refs name the files relatively ("defs.json#/...") and by file:// URI.
            resources += [(name, res), ("file://" + os.path.join(SCHEMA_DIR, name), res)]
    registry = Registry().with_resources(resources)
    with open(os.path.join(SCHEMA_DIR, "config-schema.json")) as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, registry=registry)


def _full_config():
    spec = default_spec(args=["sh", "-c", "true"])
    spec["process"]["user"]["additionalGids"] = [5, 6]
    spec["process"]["consoleSize"] = {"height": 24, "width": 80}
    spec["hooks"] = {"prestart": [{"path": "/bin/true", "args": ["true"], "env": ["A=b"], "timeout": 5}],
                     "poststop": [{"path": "/bin/true"}]}
    spec["annotations"] = {"org.example": "yes"}
    spec["mounts"].append({"destination": "/data", "type": "bind", "source": "/srv", "options": ["rbind", "ro"]})
    spec["linux"]["resources"].update({"memory": {"limit": 1 << 28}, "pids": {"limit": 64}})
    for ns in spec["linux"]["namespaces"]:
        if ns["type"] == "network":
            ns["path"] = "/var/run/netns/x"
    return spec


VALID = [
    ("runc default", lambda s: None),
    ("no process", lambda s: s.pop("process")),
    ("no linux", lambda s: s.pop("linux")),
    ("minimal process", lambda s: s.__setitem__("process", {"cwd": "/", "args": ["x"]})),
]

INVALID = [
    ("process.args", lambda s: s["process"].__setitem__("args", "sh")),
    ("process.args", lambda s: s["process"].__setitem__("args", [1, 2])),
    ("process.cwd", lambda s: s["process"].pop("cwd")),
    ("process.terminal", lambda s: s["process"].__setitem__("terminal", "yes")),
    ("process.user.uid", lambda s: s["process"]["user"].__setitem__("uid", -1)),
    ("process.user.gid", lambda s: s["process"]["user"].__setitem__("gid", "0")),
    ("process.user.additionalGids[1]", lambda s: s["process"]["user"].__setitem__("additionalGids", [1, "x"])),
    ("process.rlimits[0].soft", lambda s: s["process"]["rlimits"][0].pop("soft")),
    ("process.rlimits[0].type", lambda s: s["process"]["rlimits"][0].__setitem__("type", "NOFILE")),
    ("process.env", lambda s: s["process"]["env"].__setitem__(0, 7)),
    ("process.capabilities.bounding", lambda s: s["process"]["capabilities"].__setitem__("bounding", "CAP_KILL")),
    ("process.noNewPrivileges", lambda s: s["process"].__setitem__("noNewPrivileges", 1)),
    ("ociVersion", lambda s: s.pop("ociVersion")),
    ("root.path", lambda s: s["root"].pop("path")),
    ("root.readonly", lambda s: s["root"].__setitem__("readonly", "true")),
    ("hostname", lambda s: s.__setitem__("hostname", ["a"])),
    ("mounts[0].destination", lambda s: s["mounts"][0].pop("destination")),
    ("mounts[0].options", lambda s: s["mounts"][0].__setitem__("options", "ro")),
    ("mounts", lambda s: s.__setitem__("mounts", {"destination": "/x"})),
    ("hooks.prestart[0].path", lambda s: s.__setitem__("hooks", {"prestart": [{"args": ["x"]}]})),
    ("hooks.poststop[0].timeout", lambda s: s.__setitem__("hooks", {"poststop": [{"path": "/x", "timeout": 0}]})),
    ("annotations.k", lambda s: s.__setitem__("annotations", {"k": 1})),
    ("linux.namespaces[0].type", lambda s: s["linux"]["namespaces"][0].__setitem__("type", "bogus")),
    ("linux.resources.pids.limit", lambda s: s["linux"]["resources"].__setitem__("pids", {})),
    ("linux.resources.memory.limit", lambda s: s["linux"]["resources"].__setitem__("memory", {"limit": 1.5})),
]


@pytest.mark.parametrize("name, change", VALID, ids=[v[0] for v in VALID])
def test_valid_configs_agree_with_schema(validator, name, change):
    spec = _full_config()
    change(spec)
    validator.validate(spec)
    parsed = parse_spec(spec)
    assert parsed.oci_version == spec["ociVersion"]


@pytest.mark.parametrize("field, change", INVALID, ids=[v[0] + str(i) for i, v in enumerate(INVALID)])
def test_invalid_configs_agree_with_schema(validator, field, change):
    spec = _full_config()
    change(spec)
    assert list(validator.iter_errors(spec)), "the schema accepts this: the test case is wrong"
    with pytest.raises(ConfigError) as err:
        parse_spec(spec)
    assert err.value.field == field
    assert "\n" not in str(err.value)


def test_parsed_values():
    spec = parse_spec(_full_config())
    p = spec.process
    assert p.args == ["sh", "-c", "true"] and p.cwd == "/" and p.terminal is True
    assert p.user.additional_gids == [5, 6] and p.console_size == (24, 80)
    assert p.rlimits[0].resource == 7 and (p.rlimits[0].soft, p.rlimits[0].hard) == (1024, 1024)
    assert p.no_new_privileges and "CAP_KILL" in p.capabilities.effective
    assert spec.resources.memory_limit == 1 << 28 and spec.resources.pids_limit == 64
    assert spec.namespace("network").path == "/var/run/netns/x"
    assert spec.hooks["prestart"][0].timeout == 5 and spec.hooks["poststop"][0].args == []
    bind = spec.mounts[-1]
    assert bind.is_bind and bind.readonly and bind.source == "/srv"
    shm = [m for m in spec.mounts if m.destination == "/dev/shm"][0]
    assert (tmpfs_params(shm)["mode"], tmpfs_params(shm)["size"]) == (0o1777, 65536 << 10)
    assert spec.annotations == {"org.example": "yes"}


def test_mount_readonly_follows_the_options_in_order():
    """What the Gofer is told (readonly) and the Sentry's mount flags come from one reading of
    the options: the last of ro/rw wins, and the recursive rro counts."""
    for options, readonly in ((["ro"], True), (["ro", "rw"], False), (["rw", "ro"], True), (["rro"], True),
                              (["nosuid"], False), ([], False)):
        assert Mount("/m", options=options).readonly is readonly, options


def test_process_json_for_exec():
    proc = parse_process({"args": ["ls"], "cwd": "/tmp", "env": ["A=1=2"], "user": {"uid": 5, "gid": 6}})
    assert proc.env_dict() == {"A": "1=2"} and proc.user.uid == 5
    with pytest.raises(ConfigError, match="process.cwd"):
        parse_process({"args": ["ls"], "cwd": "tmp"})


def test_unsupported_mount_type_is_named():
    spec = _full_config()
    spec["mounts"].append({"destination": "/x", "type": "nfs", "source": "srv:/x"})
    with pytest.raises(ConfigError, match=r"mounts\[\d+\]\.type"):
        parse_spec(copy.deepcopy(spec))


def test_capability_names_are_single_capabilities():
    """config.json names capabilities 0..CAP_LAST_CAP, each once; a mask such as CAP_FS_SET (a
    kernel set, defined beside them) is not a name a config may use."""
    from snakevisor.abi.capability import CAP_LAST_CAP, CAPABILITIES
    assert sorted(CAPABILITIES.values()) == list(range(CAP_LAST_CAP + 1))
    assert "CAP_FS_SET" not in CAPABILITIES
