"""Socket regressions found with gVisor's socket syscall tests as an oracle (a blocked call keeps
its socket across another thread's close, partial sends, null receives, MSG_TRUNC on TCP,
POLLRDNORM/POLLWRNORM, TCP control messages, options and ioctls passed to host sockets):
tests/programs/gvt_sockets.c, one case per argument, natively and in the sandbox; stdout and exit
status must match. Traffic goes to loopback addresses only."""
import pytest

from harness import app_env, compare, compile_c

CASES = ["close_blocked_recv", "close_blocked_accept", "partial_send_reset", "null_recv", "tcp_msg_trunc",
         "poll_norm", "tcp_cmsg", "sock_opts_ioctls", "buf_force", "seqpacket_sender", "abstract_wrong_type",
         "creds_reaped_pid", "stream_creds", "stream_fds", "unix_rcvtimeo", "unix_buf_force",
         "linger_close", "unix_bind_mode", "abstract_netns",
         "unix_cmsg_edges", "creds_no_cap", "socket_reopen", "so_mark_no_check",
         "signal_timed_recv", "signal_connect", "tcp_read_options",
         "unix_dgram_edges", "proc_snmp"]


@pytest.mark.parametrize("case", CASES)
def test_gvt_sockets(case):
    native, _ = compare([compile_c("gvt_sockets", extra=("-pthread",)), case], env=app_env(), native_status=0)
    assert native.stdout, "the case printed nothing"
