"""Images for the container engine tests, built here from the host's Debian files (no registry): an
nginx root filesystem (the host's nginx binary, the libraries ldd names, a configuration of ours, a
www-data user), a pause root filesystem for CRI pod sandboxes (tests/programs/pause.c, static), and
OCI image layout tarballs of any root filesystem (as `ctr images import` takes).
Root filesystems are cached in the tests' build directory.
"""
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile

from harness import BUILD_DIR, compile_c

NGINX = "/usr/sbin/nginx"   # Debian's nginx-light (or nginx)
# What the image's nginx serves at /index.html (the test fetches it with curl on the host).
NGINX_PAGE = "<p>nginx in snakevisor</p>\n"
NGINX_CONF = """user www-data;
worker_processes 1;
pid /run/nginx.pid;
error_log stderr notice;
events { worker_connections 64; }
http {
    include mime.types;
    default_type application/octet-stream;
    access_log /dev/stdout;
    sendfile on;
    server {
        listen 80;
        root /var/www/html;
        index index.html;
    }
}
"""


def _write(root, path, text, mode=0o644):
    full = os.path.join(root, path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        f.write(text)
    os.chmod(full, mode)


def _copy_in(root, path):
    """Copy the host's file ``path`` (symlinks resolved) to the same path below ``root``."""
    dest = os.path.join(root, path.lstrip("/"))
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    shutil.copy2(os.path.realpath(path), dest)


def _libraries(binary):
    """The paths of the shared libraries (and the dynamic loader) ldd says ``binary`` needs."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    paths = []
    for line in out.splitlines():
        words = line.split()
        if "=>" in words and words[words.index("=>") + 1].startswith("/"):
            paths.append(words[words.index("=>") + 1])
        elif words and words[0].startswith("/"):
            paths.append(words[0])
    return paths


def _cached(name, build):
    """A root filesystem directory ``name`` in BUILD_DIR, made once by ``build(directory)``."""
    rootfs = os.path.join(BUILD_DIR, name)
    if os.path.exists(os.path.join(rootfs, ".done")):
        return rootfs
    tmp = f"{rootfs}.{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    build(tmp)
    open(os.path.join(tmp, ".done"), "w").close()
    shutil.rmtree(rootfs, ignore_errors=True)
    os.rename(tmp, rootfs)
    return rootfs


def _build_nginx(root):
    for path in [NGINX, *_libraries(NGINX), "/etc/nginx/mime.types"]:
        _copy_in(root, path)
    for d in ("proc", "dev", "sys", "tmp", "run", "var/log/nginx", "var/lib/nginx"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    os.chmod(os.path.join(root, "tmp"), 0o1777)
    _write(root, "/etc/nginx/nginx.conf", NGINX_CONF)
    _write(root, "/var/www/html/index.html", NGINX_PAGE)
    _write(root, "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n")
    _write(root, "/etc/group", "root:x:0:\nwww-data:x:33:\n")


def nginx_rootfs():
    """A root filesystem with the host's nginx and what it needs, serving NGINX_PAGE on port 80 when
    run as `nginx -g 'daemon off;'` (its master as root, its worker as www-data); None without nginx."""
    if not os.path.exists(NGINX):
        return None
    return _cached("engine-nginx-rootfs", _build_nginx)


def pause_rootfs():
    """A root filesystem holding /pause, a static program that waits for SIGTERM or SIGINT (a pod
    sandbox's infrastructure container, as Kubernetes' pause image)."""
    binary = compile_c("pause", static=True)

    def build(root):
        shutil.copy2(binary, os.path.join(root, "pause"))
        for d in ("proc", "dev", "sys", "etc"):
            os.makedirs(os.path.join(root, d))
    return _cached(f"engine-pause-rootfs-{os.path.basename(binary)}", build)


def _blob(tar, data):
    digest = hashlib.sha256(data).hexdigest()
    info = tarfile.TarInfo(f"blobs/sha256/{digest}")
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
    return {"digest": "sha256:" + digest, "size": len(data)}


def _file(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def oci_image(rootfs, out, name, cmd=("sh",), env=("PATH=/bin",)):
    """An OCI image layout tarball at ``out`` with one layer, ``rootfs`` (its hidden files left out),
    named ``name``, whose default command is ``cmd``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as layer:
        for entry in sorted(os.listdir(rootfs)):
            if not entry.startswith("."):
                layer.add(os.path.join(rootfs, entry), arcname=entry)
    with tarfile.open(out, "w") as tar:
        layer = _blob(tar, buf.getvalue())
        config = _blob(tar, json.dumps({"architecture": "amd64", "os": "linux",
                                        "config": {"Cmd": list(cmd), "Env": list(env)},
                                        "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}}).encode())
        manifest = _blob(tar, json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **layer}]}).encode())
        _file(tar, "index.json", json.dumps({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", **manifest,
            "annotations": {"org.opencontainers.image.ref.name": name, "io.containerd.image.name": name}}]}).encode())
        _file(tar, "oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
    return out
