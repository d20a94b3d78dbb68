# The systrap stub's code page (GNU as, Intel syntax). Assembled by hand during
# development; stub.py embeds the bytes and tests/test_systrap.py re-assembles and compares.
# Offsets are fixed with .org: stub.py names them.
        .intel_syntax noprefix
        .set SYSMSG_MASK, -0x10000      # a thread's sysmsg is 64 KiB, 64 KiB aligned
        .set ST_EVENT, 1
        .set ST_RESUME, 2
        .set ST_SYSCALL, 3
        .set ST_DONE, 4
        .set ST_CLONE, 5
        .set ST_BLOCKED, 6              # the Sentry's answer will take a while: do not spin
        .set EVENTFD, 4                 # the Sentry's eventfd in every stub
        # sysmsg fields
        .set M_STATE, 0
        .set M_WAITING, 4
        .set M_SIGNO, 8
        .set M_INFO, 16
        .set M_UCTX, 24
        .set M_ONE, 32
        .set M_NR, 40
        .set M_ARGS, 48
        .set M_RET, 96
        .set M_FSDIRTY, 104
        .set M_FSBASE, 112
        .set M_SS, 120
        .set M_ZEROMASK, 144
        .set M_SPIN, 152
        .set M_GSDIRTY, 160
        .set M_GSBASE, 168
        .set M_ASLEEP, 180              # the stub is (about to be) in FUTEX_WAIT: wake it
        .set M_POLLED, 184              # the Sentry will look at the state before it sleeps

        .set FILTER_OFFSET, 0x10000     # the application threads' sock_fprog (FILTER_ADDR)
        .text
page:
        .org 0x80
entry:  int3                            # the master stub parks here under ptrace
        jmp entry
        .org 0x90
gadget: syscall                         # the Sentry injects syscalls here while it traces a stub
        int3

        .org 0x100
# SIGSYS/SIGSEGV/SIGBUS/SIGFPE/SIGILL/SIGTRAP/SIGURG handler, on the thread's alternate stack
# inside its sysmsg: rdi = signo, rsi = siginfo, rdx = ucontext. Registers need not be kept:
# rt_sigreturn restores them all from the frame.
handler:
        mov rbx, rsp
        and rbx, SYSMSG_MASK
        mov [rbx+M_SIGNO], rdi
        mov [rbx+M_INFO], rsi
        mov [rbx+M_UCTX], rdx
        mov eax, ST_EVENT
        xchg [rbx+M_STATE], eax         # a full barrier before M_POLLED and M_WAITING are read
        cmp dword ptr [rbx+M_POLLED], 0
        jne 1f                          # the Sentry is awake and will see the state
        mov eax, 1                      # write(EVENTFD, &one, 8): the Sentry's epoll wakes
        mov edi, EVENTFD
        lea rsi, [rbx+M_ONE]
        mov edx, 8
        syscall
1:      cmp dword ptr [rbx+M_WAITING], 0
        je wait
        mov eax, 202                    # futex(&state, FUTEX_WAKE, 1): a Sentry waits right here
        mov rdi, rbx
        mov esi, 1
        mov edx, 1
        syscall
wait:
        mov edx, [rbx+M_STATE]
        cmp edx, ST_RESUME
        je resume
        cmp edx, ST_SYSCALL
        je do_syscall
        cmp edx, ST_CLONE
        je do_clone
        cmp edx, ST_BLOCKED
        je sleep
        mov ecx, [rbx+M_SPIN]           # spin a while first (the Sentry on another CPU answers soon)
spin:
        test ecx, ecx
        jz sleep
        pause
        dec ecx
        cmp [rbx+M_STATE], edx
        je spin
        jmp wait
sleep:
        mov eax, 1
        xchg [rbx+M_ASLEEP], eax        # a full barrier before the state is read again
        xor r10d, r10d                  # pinned: the Sentry always wakes us, an unbounded wait
        cmp dword ptr [rip+always_woken], 0
        jne nap
        lea r10, [rip+first_nap]        # else it wakes us only if it sees M_ASLEEP: bounded waits
nap:
        cmp [rbx+M_STATE], edx
        jne awake
        mov eax, 202                    # futex(&state, FUTEX_WAIT, seen, r10)
        mov rdi, rbx
        xor esi, esi
        syscall
        test r10, r10
        jz nap
        lea r10, [rip+later_nap]
        jmp nap
awake:
        mov dword ptr [rbx+M_ASLEEP], 0
        jmp wait
do_syscall:
        mov rax, [rbx+M_NR]
        mov rdi, [rbx+M_ARGS]
        mov rsi, [rbx+M_ARGS+8]
        mov rdx, [rbx+M_ARGS+16]
        mov r10, [rbx+M_ARGS+24]
        mov r8, [rbx+M_ARGS+32]
        mov r9, [rbx+M_ARGS+40]
        syscall
        mov [rbx+M_RET], rax
done:
        mov dword ptr [rbx+M_STATE], ST_DONE
        mov eax, 202                    # futex(&state, FUTEX_WAKE, 1): the Sentry waits for the result
        mov rdi, rbx
        mov esi, 1
        mov edx, 1
        syscall
        jmp wait
do_clone:                               # a new thread: clone(flags, stack, 0, ctid), its sysmsg in r12
        mov eax, 56
        mov rdi, [rbx+M_ARGS]
        mov rsi, [rbx+M_ARGS+8]
        mov r12, [rbx+M_ARGS+16]
        mov r10, [rbx+M_ARGS+24]        # CLONE_CHILD_SETTID/CLEARTID: its sysmsg's tid word
        xor edx, edx
        xor r8d, r8d
        syscall
        test rax, rax
        jz thread_start
        mov [rbx+M_RET], rax
        jmp done
resume:
        lea rsi, [rbx+M_FSDIRTY]
        mov edi, 0x1002                 # ARCH_SET_FS
        call set_base
        lea rsi, [rbx+M_GSDIRTY]
        mov edi, 0x1001                 # ARCH_SET_GS
        call set_base
        ret                             # to restorer
set_base:                               # rsi: a dirty flag, the base after it; edi: the arch_prctl code
        cmp qword ptr [rsi], 0
        je 1f
        mov qword ptr [rsi], 0
        mov rsi, [rsi+8]
        mov eax, 158                    # arch_prctl(code, base)
        syscall
1:      ret

        .org 0x280
restorer:
        mov eax, 15                     # rt_sigreturn
        syscall

        .org 0x290
# A new thread starts here with r12 = its sysmsg and rsp inside it: it takes its alternate
# stack, unblocks every signal and traps (ud2): the handler reports it to the Sentry.
thread_start:
        mov eax, 131                    # sigaltstack(&sysmsg.ss, NULL)
        lea rdi, [r12+M_SS]
        xor esi, esi
        syscall
        mov eax, 14                     # rt_sigprocmask(SIG_SETMASK, &zero, NULL, 8)
        mov edi, 2
        lea rsi, [r12+M_ZEROMASK]
        xor edx, edx
        mov r10d, 8
        syscall
        ud2

        .org 0x2c0
first_nap:
        .quad 0, 2000000                # 2 ms: a wake-up lost to a race costs no more
later_nap:
        .quad 1, 0                      # then 1 s: a scribbled flag costs its own thread only time
always_woken:
        .long 0                         # stub.code_page() sets it when the Sentry wakes every stub

        .org 0x300
# The mapper's requests (it alone may make these calls: its filter): r12 = requests in a page
# the application can only read, 7 quadwords each (nr, six arguments), r13 = their count. Stops
# at the first error (rax), r13 then counting what was left. Then, r15 = 1 (mapper_loop): it
# answers; r15 = 0 (the set-up batch, traced): int3 hands the mapper to the Sentry, which
# detaches it into mapper_loop (r14 and rbp set for it). A clone among the requests (set-up)
# makes the first application thread, which goes on at first_thread; rbx keeps its tid.
# No stack: the mapper's stack is memory the application can write.
batch:
        test r13, r13
        jz 1f
        mov rax, [r12]
        mov rdi, [r12+8]
        mov rsi, [r12+16]
        mov rdx, [r12+24]
        mov r10, [r12+32]
        mov r8, [r12+40]
        mov r9, [r12+48]
        syscall
        cmp qword ptr [r12], 56         # a clone:
        jne 2f
        test rax, rax
        jz first_thread                 # the child
        mov rbx, rax                    # the parent
2:      cmp rax, -4095
        jae 1f
        add r12, 56
        dec r13
        jmp batch
1:      test r15, r15
        jnz answer
        int3
        jmp mapper_loop

        .org 0x380
# The mapper once set up (detached): r14 = its request pages (read-only here: the count, then
# the requests), rbp = a byte the application may scribble (read's buffer, never looked at).
# A message on its socket (MAPPER_FD) says "run the batch"; it answers with a message of
# 1 + (requests left undone) bytes and, after a failure, one of -errno bytes (the lengths are
# the answer: no memory the application could write holds it).
        .set MAPPER_FD, 0
mapper_loop:
        xor eax, eax                    # read(MAPPER_FD, rbp, 1)
        mov edi, MAPPER_FD
        mov rsi, rbp
        mov edx, 1
        syscall
        cmp rax, -4                     # EINTR: again
        je mapper_loop
        test rax, rax
        jle mapper_exit                 # the Sentry's end is closed (or broken): the stub ends
        mov r13, [r14]
        lea r12, [r14+8]
        mov r15d, 1
        jmp batch
answer:
        mov rbx, rax
        mov eax, 1                      # write(MAPPER_FD, r14, 1 + left)
        mov edi, MAPPER_FD
        mov rsi, r14
        lea rdx, [r13+1]
        syscall
        test r13, r13
        jz mapper_loop
        mov eax, 1                      # write(MAPPER_FD, r14, -result): the error
        mov edi, MAPPER_FD
        mov rsi, r14
        mov rdx, rbx
        neg rdx
        syscall
        jmp mapper_loop
mapper_exit:
        mov eax, 231                    # exit_group(1)
        mov edi, 1
        syscall

# The first application thread, cloned by the set-up batch with its stack in its sysmsg: it
# installs the application threads' filter (the mapper's thread has none yet), or ends the
# stub, and starts as every thread does.
first_thread:
        mov r12, rsp
        and r12, SYSMSG_MASK
        mov eax, 317                    # seccomp(SECCOMP_SET_MODE_FILTER, 0, &fprog)
        mov edi, 1
        xor esi, esi
        lea rdx, [rip + page + FILTER_OFFSET]
        syscall
        test rax, rax
        jz thread_start
        jmp mapper_exit
        .org 0x1000
