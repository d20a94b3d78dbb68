#!/bin/sh
# keyctl(1) from keyutils driving the kernel keyrings, natively and in the sandbox; serial
# numbers vary between runs, so they are printed as "ID".
# keyctl list right-aligns serials in 9 columns: a shorter (random) serial gets padding too.
ids() { sed -E 's/^ +([0-9]{4,}:)/\1/; s/[0-9]{4,}/ID/g'; }
k=$(keyctl add user t-tool hello @s)
keyctl print "$k"
keyctl rdescribe "$k"
echo piped | keyctl padd user t-pipe @s >/dev/null
keyctl pipe "$(keyctl search @s user t-pipe)"
echo
[ "$(keyctl request user t-tool)" = "$k" ] && echo request finds it
r=$(keyctl newring t-ring @s)
keyctl add user t-inner secret "$r" >/dev/null
keyctl list "$r" | ids
keyctl rlist "$r" | ids
keyctl update "$k" world && keyctl print "$k"
keyctl setperm "$k" 0x3f3f0000 && keyctl rdescribe "$k"
keyctl timeout "$k" 690 && grep ' t-tool' /proc/keys | awk '{print $2, $4, $5, $8, $9, $10}'
keyctl revoke "$k"
keyctl print "$k" 2>&1 | ids
keyctl unlink "$r" @s | ids
keyctl show @s | sed -E 's/^ *[0-9]+/ID/' | ids
keyctl session t-named sh -c 'keyctl rdescribe @s' 2>&1 | ids
keyctl print 12345 2>&1
exit 0
