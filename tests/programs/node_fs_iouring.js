// Node's fs through libuv's io_uring (UV_USE_IO_URING=1: an SQPOLL ring for file operations and a
// ring batching epoll_ctl): mkdir, write, stat, rename, read, open/write/fsync/close, symlink, link,
// unlink, rmdir, in a directory of its own under /tmp.
const fs = require('fs/promises');
(async () => {
  const d = '/tmp/node-iouring-' + process.pid;
  await fs.mkdir(d);
  await fs.writeFile(d + '/a', 'hello node');
  const st = await fs.stat(d + '/a');
  await fs.rename(d + '/a', d + '/b');
  const txt = await fs.readFile(d + '/b', 'utf8');
  const fh = await fs.open(d + '/b', 'r+');
  await fh.write('HELLO', 0);
  await fh.sync();
  await fh.close();
  const txt2 = await fs.readFile(d + '/b', 'utf8');
  await fs.symlink('b', d + '/l');
  await fs.link(d + '/b', d + '/c');
  const target = await fs.readlink(d + '/l');
  const names = (await fs.readdir(d)).sort().join(',');
  await Promise.all(['b', 'c', 'l'].map((n) => fs.unlink(d + '/' + n)));
  await fs.rmdir(d);
  let gone = false;
  try { await fs.stat(d); } catch (e) { gone = e.code === 'ENOENT'; }
  console.log(st.size, txt, txt2, target, names, gone);
})();
