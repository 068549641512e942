-- settle.lua: end one request. Its token reservation becomes its real usage
-- (the difference refunded, capped at a full bucket, or owed; in a window,
-- refunded from the slot it was taken in), and its concurrency leases are
-- released. Mirrors memory.go's settle, on bucket.lua's and window.lua's
-- arithmetic.
--
-- KEYS as in admit.lua. ARGV: [1] now in unix ms, or -1 for Redis's clock;
-- [2] the request id; [3] real usage minus reservation, in tokens; [4] the
-- reservation; [5] when it was taken (unix ms); then for each scope i, from
-- ARGV[5+4(i-1)+1]: rpm, tpm, concurrency, burst (1|0).
local now = clock(ARGV[1])
local id, delta, est, at = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
for i = 1, #KEYS / 2 do
  local b = 5 + 4 * (i - 1)
  local rpm, tpm, conc, burst = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3]), ARGV[b + 4] == '1'
  if tpm > 0 and delta ~= 0 and burst then
    local r, rt, t, tt = decode(redis.call('GET', KEYS[2 * i - 1]))
    t, tt = refill(t, tt, now, tpm)
    t = math.min(t - delta * U, tpm * U)
    local ttl = wait(t, tpm * U, tpm)
    if rpm > 0 then
      r, rt = refill(r, rt, now, rpm)
      ttl = math.max(ttl, wait(r, rpm * U, rpm))
    end
    redis.call('SET', KEYS[2 * i - 1], encode(r, rt, t, tt), 'PX', ttl + 1000)
  elseif tpm > 0 and delta ~= 0 then
    local rw, tw = wdecode(redis.call('GET', KEYS[2 * i - 1]), now)
    if delta < 0 then wrefund(tw, at, -delta) else wtake(tw, now, delta) end
    local ttl = math.max(wreset(rw, now), wreset(tw, now))
    redis.call('SET', KEYS[2 * i - 1], wencode(rw, tw), 'PX', ttl + 1000)
  end
  if conc > 0 then
    redis.call('ZREM', KEYS[2 * i], id)
  end
end
return 1
