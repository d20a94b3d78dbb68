"""Line-editing and full-screen programs in ``snakevisor do -t``, driven through tmux:
bash's readline and job control, vi (vim.tiny and busybox's), less and more, top, the
python3 REPL, script(1)'s nested pty, and the pty's modes taken from the host terminal.
Each test types keys into a private tmux server's pane and polls the screen for what
the program draws (tmux_util.Tmux)."""
import os
import shlex
import shutil
import time

import pytest

from harness import run_native, run_sandboxed
from tmux_util import START_TIMEOUT, needs_tmux, session

PROMPT = "[sv]$"          # capture-pane drops the trailing blank of PS1
BASH = ["/usr/bin/env", "PS1=[sv]$ ", "HISTFILE=/tmp/.bash_history", "/bin/bash", "--norc", "-i"]


def press_until(tmux, key, text, count=1, tries=5, wait=3.0):
    """Press key until text shows up count times. A signal key (^C, ^Z) sent before the job
    is in the terminal's foreground goes to the shell, which ignores it; so press again."""
    for _ in range(tries - 1):
        tmux.send(key)
        try:
            return tmux.wait_for(text, timeout=wait, count=count)
        except AssertionError:
            pass
    tmux.send(key)
    return tmux.wait_for(text, count=count)


def enter(tmux, line, prompt=PROMPT):
    """Type a line and Enter; return once it is echoed with its newline, so the program has
    read it all: a ^C or ^Z typed earlier would flush it as typeahead (ISIG without NOFLSH)."""
    tmux.type(line)
    tmux.send("Enter")
    tmux.wait_for(f"{prompt} {line}\n")


def command(tmux, line, expect, prompts):
    """Type a shell command line at the prompts-th prompt, press Enter, wait for its output and
    the next prompt; returns the screen."""
    tmux.type(line)
    tmux.send("Enter")
    tmux.wait_for(PROMPT, count=prompts + 1)
    return tmux.wait_for(expect)


@needs_tmux
def test_bash_readline_editing_history_and_completion(tmp_path):
    with session(tmp_path, BASH) as tmux:
        tmux.wait_for(PROMPT, timeout=START_TIMEOUT)
        # Ctrl-A / Ctrl-E, Left arrow and Backspace in the middle of the line.
        tmux.type("cho wXrld")
        tmux.send("C-a")
        tmux.type("e")
        tmux.send("C-e", "Left", "Left", "Left", "BSpace")
        tmux.type("o")
        tmux.send("C-e")
        tmux.type(" $((6*7))")
        tmux.wait_for("echo world $((6*7))")
        tmux.send("Enter")
        tmux.wait_for("\nworld 42\n")
        tmux.wait_for(PROMPT, count=2)
        # Ctrl-U kills the whole line typed so far.
        tmux.type("echo never-run")
        tmux.send("C-u")
        screen = command(tmux, "echo killed-ok", "\nkilled-ok\n", 2)
        assert "never-run" not in screen.split("killed-ok")[-1]
        # Up arrow twice recalls the first command; it can be edited and run again.
        tmux.send("Up")
        tmux.wait_for(PROMPT + " echo killed-ok", count=2)
        tmux.send("Up")
        tmux.wait_for(PROMPT + " echo world $((6*7))", count=2)
        tmux.type(" again")
        tmux.send("Enter")
        tmux.wait_for("\nworld 42 again\n")
        tmux.wait_for(PROMPT, count=4)
        # Tab completes a unique file name; a second Tab lists the candidates of an ambiguous one.
        command(tmux, "clear; cd /tmp && touch tabfile-unique ambig-one ambig-two", PROMPT, 0)
        tmux.type("echo tabfile-u")
        tmux.send("Tab")
        tmux.wait_for(PROMPT + " echo tabfile-unique")
        tmux.type("done")
        tmux.send("Enter")
        tmux.wait_for("\ntabfile-unique done\n")
        tmux.wait_for(PROMPT, count=2)
        tmux.type("ls ambig")
        tmux.send("Tab")
        tmux.wait_for(PROMPT + " ls ambig-")        # the common prefix
        # A Tab that changed the line is not a second Tab: readline lists on the third (as natively).
        tmux.send("Tab", "Tab")
        tmux.wait_until(lambda s: "ambig-one" in s and "ambig-two" in s, "the candidates")
        tmux.type("t")
        tmux.send("Tab")
        tmux.wait_for(PROMPT + " ls ambig-two")
        tmux.send("Enter")
        tmux.wait_for("\nambig-two\n")


@needs_tmux
def test_bash_job_control(tmp_path):
    with session(tmp_path, BASH) as tmux:
        tmux.wait_for(PROMPT, timeout=START_TIMEOUT)
        # ^Z stops the foreground job; jobs lists it; fg resumes it; ^C ends it. The job says when it
        # runs: a ^Z that stops bash's child before bash has its job in order makes bash forget
        # to make it the current one (natively too, in a shorter window).
        job = "( echo started; exec sleep 100 )"
        enter(tmux, job)
        tmux.wait_for("\nstarted\n")
        press_until(tmux, "C-z", "Stopped")
        tmux.wait_for(PROMPT, count=2)
        command(tmux, "jobs", f"[1]+  Stopped                 {job}", 2)
        enter(tmux, "fg")
        tmux.wait_for(f"\n{job}\n")
        start = time.monotonic()
        press_until(tmux, "C-c", PROMPT, count=4)
        assert time.monotonic() - start < 30
        screen = command(tmux, "echo status=$?; jobs; echo end-of-jobs", "end-of-jobs\n", 4)
        assert "status=130\nend-of-jobs" in screen
        # A background job killed through its job number.
        command(tmux, "clear; sleep 100 &", "[1] ", 0)
        screen = command(tmux, "kill %1; wait %1; echo status=$?", "status=143", 1)
        tmux.send("Enter")
        tmux.wait_for(PROMPT, count=3)
        screen = command(tmux, "jobs; echo end-of-jobs", "end-of-jobs\n", 3)
        assert "Running" not in screen
        # A background job reading the terminal stops (SIGTTIN); with tostop, one writing too (SIGTTOU).
        command(tmux, "clear; cat &", "[1] ", 0)
        press_until(tmux, "Enter", "Stopped                 cat", wait=1.0)
        command(tmux, "clear; stty tostop; (sleep 0.2; echo from-bg) &", "[2] ", 0)
        press_until(tmux, "Enter", "Stopped                 ( sleep 0.2; echo from-bg )", wait=1.0)
        command(tmux, "clear; stty -tostop; fg %2", "\nfrom-bg\n", 0)
        command(tmux, "kill %1; wait %1; echo status=$?", "status=143", 1)


# argv, and what the last row shows in insert mode only: an Escape must be seen to have ended insert
# mode before the next key goes, else vi takes the two for one escape sequence (Alt-key), as natively.
VIS = {
    "vim.tiny": (["vim.tiny", "-c", "set showmode"], "-- INSERT --"),
    "busybox vi": (["/bin/busybox", "vi"], "I /tmp/vi-test.txt"),
}


@needs_tmux
@pytest.mark.parametrize("vi", list(VIS))
def test_vi_edit_write_and_resize(tmp_path, vi):
    argv, insert_mode = VIS[vi]
    if shutil.which(argv[0]) is None:
        print(f"{vi}: {argv[0]} is not installed (tools/setup.sh --test installs vim-tiny and busybox-static)")
        pytest.skip(f"{argv[0]} is not installed")
    if vi == "busybox vi" and "vi" not in os.popen("/bin/busybox --list").read().split():
        pytest.skip("this busybox has no vi applet")
    script = shlex.join(argv) + " /tmp/vi-test.txt; echo vi-exit=$?; cat -A /tmp/vi-test.txt; echo end-of-file; read x"
    long = "0123456789" * 9                   # 90 columns: wider than 80, narrower than 100
    with session(tmp_path, ["/bin/bash", "-c", script]) as tmux:
        tmux.wait_rows(lambda rows: "vi-test.txt" in rows[23] and rows[22].startswith("~"), "vi's first screen",
                       timeout=START_TIMEOUT)
        tmux.send("i")
        tmux.type("hello from vi")
        tmux.wait_rows(lambda rows: rows[0] == "hello from vi" and rows[23].startswith(insert_mode), "insert mode")
        tmux.send("Enter")
        tmux.type(long)
        tmux.send("Escape")
        tmux.wait_rows(lambda rows: not rows[23].startswith(insert_mode), "the end of insert mode")
        # The cursor back to column 0: busybox vi scrolls sideways (and hides its "~") while it is at 90.
        tmux.send("0")
        tmux.wait_rows(lambda rows: rows[0] == "hello from vi" and rows[1].startswith(long[:70]), "column 0")
        # A bigger window: SIGWINCH, TIOCGWINSZ, and vi redraws everything for 30 rows of 100 columns
        # (tmux adds blank rows: the "~" rows down to the 29th are vi's).
        tmux.resize(100, 30)
        rows = tmux.wait_rows(lambda rows: len(rows) == 30 and rows[28].startswith("~"), "a redraw for 30 rows")
        assert rows[0] == "hello from vi" and rows[1].startswith(long), rows
        if vi == "vim.tiny":
            tmux.type(":set lines? columns?")
            tmux.send("Enter")
            tmux.wait_until(lambda s: "lines=30" in s and "columns=100" in s, "lines=30, columns=100")
            tmux.wait_for("Press ENTER")
            tmux.send("Enter")
        # Smaller than at the start: the long line no longer fits.
        tmux.resize(60, 16)
        tmux.wait_rows(lambda rows: len(rows) == 16 and rows[14].startswith("~"), "a redraw for 16 rows")
        tmux.type(":wq")
        tmux.send("Enter")
        tmux.wait_for("end-of-file")
        screen = tmux.screen(joined=True)         # cat's 91 columns wrap in 60
        assert "vi-exit=0" in screen
        assert f"hello from vi$\n{long}$\nend-of-file" in screen, screen


@needs_tmux
def test_less_and_more_page_a_long_file(tmp_path):
    script = ("seq 1 1000 > /tmp/long.txt; less /tmp/long.txt; echo less-exit=$?; read x; clear; "
              "more /tmp/long.txt; echo more-exit=$?; read x")
    with session(tmp_path, ["/bin/bash", "-c", script]) as tmux:
        # less: a page is the window less one row (the prompt); space shows the next one.
        tmux.wait_rows(lambda rows: rows[0] == "1" and rows[22] == "23" and "long.txt" in rows[23],
                       "less's first page", timeout=START_TIMEOUT)
        tmux.send("Space")
        tmux.wait_rows(lambda rows: rows[0] == "24" and rows[22] == "46" and rows[23] == ":", "the second page")
        tmux.type("/500")
        tmux.send("Enter")
        tmux.wait_rows(lambda rows: rows[0] == "500", "a search's match at the top")
        tmux.send("q")
        tmux.wait_for("less-exit=0")
        tmux.send("Enter")
        # more: the same with its --More-- prompt.
        tmux.wait_rows(lambda rows: "--More--" in rows[23] and "1" in rows, "more's first page")
        tmux.send("Space")
        tmux.wait_rows(lambda rows: "--More--" in rows[23] and "46" in rows, "more's second page")
        tmux.send("q")
        tmux.wait_for("more-exit=0")


@needs_tmux
def test_top_refreshes_and_quits(tmp_path):
    if shutil.which("top") is None:
        pytest.skip("top is not installed (procps)")
    with session(tmp_path, ["/bin/bash", "-c", "top -d 1; echo top-exit=$?; read x"]) as tmux:
        screen = tmux.wait_until(lambda s: "Tasks:" in s and "PID USER" in s and " top" in s, "top's first screen",
                                 timeout=START_TIMEOUT)
        assert "MiB Mem" in screen and "load average" in screen
        # bash waits for top: sleeping, not running (/proc/PID/stat's state).
        assert "2 total,   1 running,   1 sleeping" in screen, screen
        first = tmux.screen().split("\n")[0]
        # The header's clock or uptime changes at each refresh (-d 1): top reads /proc again.
        tmux.wait_until(lambda s: s.split("\n")[0] != first, "a refresh", timeout=15)
        tmux.send("q")
        tmux.wait_for("top-exit=0")


@needs_tmux
def test_the_pty_starts_with_the_host_terminals_modes(tmp_path):
    """Like script(1): the sandbox's pty gets the modes of the terminal `do -t` runs in (here tmux's
    pane with IUTF8, and erase set to ^H). A canonical read then erases a whole UTF-8 character, and
    ^H is the erase character; the same keys give the same line natively and in the sandbox."""
    script = "stty -a | tr ';' '\\n' | grep -E '^ *erase|iutf8'; read x; printf %s \"$x\" | od -An -c; echo end; read y"
    screens = {}
    for native in (True, False):
        tmpdir = tmp_path / ("native" if native else "sandbox")    # a server each
        tmpdir.mkdir()
        with session(tmpdir, ["/bin/sh", "-c", script], native=native, before="stty erase ^H") as tmux:
            tmux.wait_for("iutf8", timeout=START_TIMEOUT)
            tmux.type("aé€")
            tmux.send("C-h")
            tmux.type("x")
            tmux.wait_for("aéx")                    # the echo: ^H erased the whole €
            tmux.send("Enter")
            screens[native] = tmux.wait_for("end")
    assert "erase = ^H" in screens[True] and " iutf8" in screens[True], screens[True]
    assert screens[False] == screens[True]


@needs_tmux
def test_script_nests_a_pty(tmp_path):
    """script(1) in the sandbox: a second pty pair from the sandbox's /dev/ptmx, with the outer
    one's modes and size; a resize reaches it through script's SIGWINCH handler (TIOCSWINSZ)."""
    if shutil.which("script") is None:
        pytest.skip("script is not installed (bsdutils)")
    inner = "tty; stty size; while read x && [ -z \"$x\" ]; do stty size; done; echo inner-$x"
    script = f"script -qc {shlex.quote(inner)} /dev/null; echo script-exit=$?; read y"
    with session(tmp_path, ["/bin/bash", "-c", script]) as tmux:
        tmux.wait_for("/dev/pts/1\n24 80\n", timeout=START_TIMEOUT)
        tmux.resize(100, 30)
        # script passes the size on when its SIGWINCH comes, which may be after a key typed now:
        # ask again until the inner pty has it.
        press_until(tmux, "Enter", "\n30 100\n", wait=1.0)
        tmux.type("done")
        tmux.send("Enter")
        tmux.wait_for("\ninner-done\n")
        tmux.wait_for("script-exit=0")


PROC_STATES = r"""
sleep 100 & p=$!
cat /dev/zero > /dev/null & q=$!
i=0; while [ $i -lt 100 ] && [ "$(cut -d' ' -f3 /proc/$p/stat)" != S ]; do i=$((i+1)); sleep 0.1; done
echo sleep=$(cut -d' ' -f3 /proc/$p/stat) self=$(cut -d' ' -f3 /proc/self/stat)
echo busy=$(cut -d' ' -f3 /proc/$q/stat)
grep State /proc/$p/status
kill -STOP $p
i=0; while [ $i -lt 100 ] && [ "$(cut -d' ' -f3 /proc/$p/stat)" != T ]; do i=$((i+1)); sleep 0.1; done
grep State /proc/$p/status
kill -CONT $p; kill $p $q; wait
"""


def test_proc_task_states_differential():
    """What top counts: S for a task waiting in a syscall, R for one running, T when stopped."""
    native = run_native(["/bin/sh", "-c", PROC_STATES])
    boxed = run_sandboxed(["/bin/sh", "-c", PROC_STATES])
    assert native.stdout == boxed.stdout, (native.stdout, boxed.stdout, boxed.stderr[-2000:])
    assert b"sleep=S self=R\nbusy=R\nState:\tS (sleeping)\nState:\tT (stopped)\n" == native.stdout


@needs_tmux
def test_python_repl(tmp_path):
    py = "/usr/bin/python3"
    if not os.path.exists(py):
        pytest.skip(f"{py} is missing")
    with session(tmp_path, ["/bin/bash", "-c", f"{py}; echo py-exit=$?; read x"]) as tmux:
        tmux.wait_for(">>>", timeout=START_TIMEOUT)
        tmux.type("6*7")
        tmux.send("Enter")
        tmux.wait_for("\n42\n>>>")
        # ^C in a running statement: KeyboardInterrupt, and the prompt again.
        enter(tmux, "import time; time.sleep(100)", ">>>")
        start = time.monotonic()
        press_until(tmux, "C-c", "KeyboardInterrupt\n>>>")
        assert time.monotonic() - start < 30
        # ^C while editing a line drops it.
        tmux.type("6*8")
        tmux.wait_for(">>> 6*8")
        tmux.send("C-c")
        tmux.wait_for("KeyboardInterrupt\n>>>", count=2)
        # readline's history: Up recalls the first expression, edited before Enter.
        tmux.send("Up")
        tmux.wait_for(">>> import time", count=2)
        tmux.send("Up")
        tmux.wait_for(">>> 6*7", count=2)
        tmux.send("BSpace")
        tmux.type("8")
        tmux.send("Enter")
        tmux.wait_for("\n48\n>>>")
        # ^D on an empty line: EOF, python exits with 0.
        tmux.send("C-d")
        tmux.wait_for("py-exit=0")
