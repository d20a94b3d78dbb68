"""adjtimex(2) and clock_adjtime(2) ABI: struct timex's layout, mode and status bits, and the
state of a clock no NTP daemon disciplines (include/uapi/linux/timex.h, kernel/time/ntp.c)."""

TIMEX_SIZE = 208
# Offsets of the fields (x86_64: longs are 8 bytes, ints 4 and padded to 8 but for tai).
TIMEX_MODES = 0
TIMEX_LONGS_1 = 8          # offset, freq, maxerror, esterror
TIMEX_STATUS = 40
TIMEX_LONGS_2 = 48         # constant, precision, tolerance, time.tv_sec, time.tv_usec, tick, ppsfreq, jitter
TIMEX_SHIFT = 112
TIMEX_LONGS_3 = 120        # stabil, jitcnt, calcnt, errcnt, stbcnt
TIMEX_TAI = 160

ADJ_OFFSET = 0x0001
ADJ_TICK = 0x4000
ADJ_SETOFFSET = 0x0100
ADJ_OFFSET_SINGLESHOT = 0x0001
ADJ_OFFSET_READONLY = 0x2000
ADJ_ADJTIME = 0x8000

STA_UNSYNC = 0x0040

TIME_OK, TIME_ERROR = 0, 5

# An undisciplined clock (ntp_clear): unsynchronised, errors at NTP_PHASE_LIMIT, time constant 2,
# tolerance MAXFREQ_SCALED / PPM_SCALE (500 ppm), a 10000 us tick (USER_HZ 100).
NTP_PHASE_LIMIT = 16000000
NTP_TIME_CONSTANT = 2
NTP_PRECISION = 1
NTP_TOLERANCE = 32768000
TICK_USEC = 10000
