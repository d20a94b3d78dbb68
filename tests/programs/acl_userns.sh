# A POSIX ACL set and read in a user namespace (uid 1000 inside is kernel uid 0): named ids are
# mapped both ways, an unmapped one is EINVAL. Run by tests/test_real_found.py in the directory $1.
B=$1/acl_userns.$$; mkdir -m 777 $B
unshare -U --map-user=1000 --map-group=1000 python3 -c "
import os, struct
def acl(*e): return struct.pack('<I', 2) + b''.join(struct.pack('<HHI', t, p, i) for t, p, i in e)
N = 0xffffffff; f = '$B/f'; open(f, 'w').close()
print('owner inside', os.stat(f).st_uid)
for uid in (1000, 5):
    try: os.setxattr(f, 'system.posix_acl_access', acl((1,6,N),(2,4,uid),(4,4,N),(0x10,4,N),(0x20,0,N))); print('set', uid, 'ok')
    except OSError as e: print('set', uid, e.strerror)
v = os.getxattr(f, 'system.posix_acl_access'); print('inside', [struct.unpack_from('<HHI', v, 4 + 8*i) for i in range((len(v)-4)//8)])
"
python3 -c "
import os, struct
v = os.getxattr('$B/f', 'system.posix_acl_access'); print('outside', [struct.unpack_from('<HHI', v, 4 + 8*i) for i in range((len(v)-4)//8)])
"
rm -rf $B
