"""Stand-ins for MemoryManager tests without a Sentry."""
from snakevisor.sentry.mm.mappable import Mappable
from snakevisor.sentry.mm.pagecache import PageCache


class PageCacheFile(Mappable):
    """A file whose mappable is a bare PageCache (the references its VMAs hold are not counted)."""

    def __init__(self, mf, size):
        self.cache = PageCache(mf)
        self.size = size

    def mappable(self):
        return self

    def translate(self, offset, length):
        return self.cache.translate(offset, length)

    def inc_ref(self):
        return self

    def dec_ref(self):
        pass
