# inotifywait -m and tail -f on a directory given as $1 (default /tmp): what they print must match a native run.
# Waits are on state (a line appearing in a file), bounded, never a fixed sleep.
set -e
d=$(mktemp -d -p "${1:-/tmp}")
inotifywait -m -e create,modify,moved_to,delete --format '%e %f' "$d" > "$d.log" 2> "$d.err" &
w=$!
i=0; until grep -q "Watches established" "$d.err"; do i=$((i+1)); [ $i -lt 400 ] || exit 3; sleep 0.05; done
echo one > "$d/new"; mv "$d/new" "$d/moved"; rm "$d/moved"
i=0; until [ "$(wc -l < "$d.log")" -ge 4 ]; do i=$((i+1)); [ $i -lt 400 ] || exit 4; sleep 0.05; done
kill $w; wait $w 2>/dev/null || true
cat "$d.log"
printf 'first\n' > "$d/t"
tail -f "$d/t" > "$d.tail" 2> "$d.tailerr" &
tp=$!
i=0; until grep -q first "$d.tail"; do i=$((i+1)); [ $i -lt 400 ] || exit 5; sleep 0.05; done
printf 'second\n' >> "$d/t"
i=0; until grep -q second "$d.tail"; do i=$((i+1)); [ $i -lt 400 ] || exit 6; sleep 0.05; done
kill $tp; wait $tp 2>/dev/null || true
cat "$d.tail"; cat "$d.tailerr"
rm -rf "$d" "$d.log" "$d.err" "$d.tail" "$d.tailerr"
