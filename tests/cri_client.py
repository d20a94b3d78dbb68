"""A minimal client of the Kubernetes Container Runtime Interface (CRI v1: runtime.v1.RuntimeService
and ImageService over gRPC), as the kubelet or crictl speak it to containerd's CRI plugin; crictl is
not packaged for Debian 12, so the tests drive the plugin with this.

The transport is grpcio (pip) with raw bytes; the protobuf messages are encoded and decoded here by
hand (a varint and length-delimited codec) with the field numbers of the CRI's api.proto, only for
the fields the tests use. A message is written as a list of (field number, value): an int (varint),
a str or bytes (length-delimited), a list (a nested message) or None (left out); a map<string,string>
field is a repeated entry message {1: key, 2: value}.
"""
import grpc

RUNTIME = "/runtime.v1.RuntimeService/"
IMAGES = "/runtime.v1.ImageService/"
# NamespaceMode (NamespaceOption's network, pid, ipc)
POD, CONTAINER, NODE = 0, 1, 2
# ContainerState
CONTAINER_STATES = {0: "CREATED", 1: "RUNNING", 2: "EXITED", 3: "UNKNOWN"}
# What the kubelet masks and makes read-only in a container that is not privileged
# (k8s.io/kubernetes/pkg/securitycontext: DefaultProcMountType's paths).
KUBELET_MASKED_PATHS = ("/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware")
KUBELET_READONLY_PATHS = ("/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")


def _varint(n):
    n &= (1 << 64) - 1   # int64: negative numbers are ten bytes, as protobuf writes them
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if not n:
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def encode(fields):
    """The protobuf encoding of ``fields`` (see the module docstring)."""
    out = bytearray()
    for number, value in fields:
        if value is None:
            continue
        if isinstance(value, (bool, int)):
            out += _varint(number << 3) + _varint(int(value))
            continue
        if isinstance(value, str):
            value = value.encode()
        elif isinstance(value, list):
            value = encode(value)
        out += _varint(number << 3 | 2) + _varint(len(value)) + value
    return bytes(out)


def _read_varint(data, pos):
    shift = result = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("truncated or overlong varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def decode(data):
    """{field number: [values]}: ints for varints, bytes for length-delimited fields (a nested
    message is decoded again by the caller); fixed-width fields are skipped."""
    fields, pos = {}, 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(data, pos)
        elif wire == 2:
            size, pos = _read_varint(data, pos)
            if pos + size > len(data):
                raise ValueError("truncated length-delimited field")
            value, pos = data[pos:pos + size], pos + size
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
            continue
        else:
            raise ValueError(f"unsupported wire type {wire}")
        fields.setdefault(number, []).append(value)
    return fields


def _first(fields, number, default):
    return fields.get(number, [default])[0]


def _map(entries):
    return [[(1, k), (2, v)] for k, v in entries.items()]


def _namespace_options(network):
    """NamespaceOption {network=1, pid=2, ipc=3}: the pid namespace per container, as the kubelet
    asks for v1 pods."""
    return [(1, network), (2, CONTAINER), (3, POD)]


def pod_sandbox_config(name, uid, namespace="default", network=POD, log_directory=None, hostname=None):
    """PodSandboxConfig: metadata (name=1, uid=2, namespace=3, attempt=4), hostname=2,
    log_directory=3, labels=6, and linux=8 {security_context=2 {namespace_options=1}}."""
    return [(1, [(1, name), (2, uid), (3, namespace), (4, 0)]), (2, hostname), (3, log_directory),
            *[(6, e) for e in _map({"io.kubernetes.pod.name": name})],
            (8, [(2, [(1, _namespace_options(network))])])]


def container_config(name, image, command, log_path=None, network=POD):
    """ContainerConfig: metadata=1 {name=1, attempt=2}, image=2 {image=1}, command=3 (repeated),
    log_path=11, linux=15 {security_context=2 {namespace_options=3, masked_paths=13,
    readonly_paths=14}} (the kubelet's defaults for a pod that is not privileged)."""
    security = [(3, _namespace_options(network)), *[(13, p) for p in KUBELET_MASKED_PATHS],
                *[(14, p) for p in KUBELET_READONLY_PATHS]]
    return [(1, [(1, name), (2, 0)]), (2, [(1, image)]), *[(3, arg) for arg in command], (11, log_path),
            (15, [(2, security)])]


class CRIClient:
    """The RuntimeService and ImageService calls the tests make, against the CRI socket ``address``
    (a path). Each call raises grpc.RpcError with the server's status and message on failure, and
    gives up after ``timeout`` seconds."""

    def __init__(self, address, timeout=60):
        self.channel = grpc.insecure_channel(f"unix://{address}")
        self.timeout = timeout

    def close(self):
        self.channel.close()

    def call(self, method, fields, timeout=None):
        """The decoded response of ``method`` (a full gRPC method path) to the message ``fields``."""
        stub = self.channel.unary_unary(method)
        return decode(stub(encode(fields), timeout=timeout or self.timeout))

    def wait_ready(self, timeout):
        """Wait (at most ``timeout`` seconds) until the server answers on its socket."""
        grpc.channel_ready_future(self.channel).result(timeout=timeout)

    def version(self):
        """VersionResponse: (runtime_name=2, runtime_version=3, runtime_api_version=4)."""
        r = self.call(RUNTIME + "Version", [(1, "v1")])
        return tuple(_first(r, n, b"").decode() for n in (2, 3, 4))

    def image_status(self, image):
        """ImageStatus(image=1 {image=1}): the image's repo_tags (Image=1 {id=1, repo_tags=2}), or
        None if the runtime does not have it."""
        r = self.call(IMAGES + "ImageStatus", [(1, [(1, image)])])
        if 1 not in r:
            return None
        return [t.decode() for t in decode(r[1][0]).get(2, [])]

    def run_pod_sandbox(self, config, handler):
        """RunPodSandbox(config=1, runtime_handler=2) -> pod_sandbox_id=1."""
        r = self.call(RUNTIME + "RunPodSandbox", [(1, config), (2, handler)], timeout=max(self.timeout, 120))
        return _first(r, 1, b"").decode()

    def create_container(self, pod_id, config, sandbox_config):
        """CreateContainer(pod_sandbox_id=1, config=2, sandbox_config=3) -> container_id=1."""
        r = self.call(RUNTIME + "CreateContainer", [(1, pod_id), (2, config), (3, sandbox_config)])
        return _first(r, 1, b"").decode()

    def start_container(self, container_id):
        self.call(RUNTIME + "StartContainer", [(1, container_id)])

    def exec_sync(self, container_id, cmd, timeout=30):
        """ExecSync(container_id=1, cmd=2, timeout=3) -> (exit_code=3, stdout=1, stderr=2)."""
        r = self.call(RUNTIME + "ExecSync", [(1, container_id), *[(2, a) for a in cmd], (3, timeout)],
                      timeout=timeout + 30)
        return _first(r, 3, 0), _first(r, 1, b""), _first(r, 2, b"")

    def container_status(self, container_id):
        """ContainerStatus(container_id=1) -> status=1 {state=3, exit_code=7, reason=10}:
        (state name, exit code, reason)."""
        r = self.call(RUNTIME + "ContainerStatus", [(1, container_id)])
        status = decode(_first(r, 1, b""))
        return (CONTAINER_STATES.get(_first(status, 3, 0), "?"), _first(status, 7, 0),
                _first(status, 10, b"").decode())

    def stop_container(self, container_id, timeout=10):
        self.call(RUNTIME + "StopContainer", [(1, container_id), (2, timeout)], timeout=timeout + 60)

    def remove_container(self, container_id):
        self.call(RUNTIME + "RemoveContainer", [(1, container_id)])

    def pod_ip(self, pod_id):
        """PodSandboxStatus(pod_sandbox_id=1) -> status=1 {network=5 {ip=1}}: the pod's address."""
        status = decode(_first(self.call(RUNTIME + "PodSandboxStatus", [(1, pod_id)]), 1, b""))
        return _first(decode(_first(status, 5, b"")), 1, b"").decode()

    def stop_pod_sandbox(self, pod_id):
        self.call(RUNTIME + "StopPodSandbox", [(1, pod_id)], timeout=max(self.timeout, 120))

    def remove_pod_sandbox(self, pod_id):
        self.call(RUNTIME + "RemovePodSandbox", [(1, pod_id)])
