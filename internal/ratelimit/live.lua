-- live.lua: one instance's heartbeat, and its hand-back of what it admitted
-- while Redis was unreachable. The instance registry is a sorted set of
-- instance ids scored by the expiry of their heartbeat (unix ms); the
-- instances alive are those not expired, and a store failure splits every
-- limit between them.
--
-- KEYS: [1] the registry, then the limit keys (as admit.lua's KEYS[2i-1])
-- owed to. ARGV: [1] now in unix ms, or -1 for Redis's clock; [2] heartbeat
-- ttl ms; [3] the instance id; then for each limit key i, from
-- ARGV[3+5(i-1)+1]: rpm, tpm, burst (1|0), requests owed, tokens owed.
-- Returns the number of live instances, this one included.
local now = clock(ARGV[1])
local ttl, id = tonumber(ARGV[2]), ARGV[3]
for i = 2, #KEYS do
  local b = 3 + 5 * (i - 2)
  local rpm, tpm, burst = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]), ARGV[b + 3] == '1'
  local dr, dt = tonumber(ARGV[b + 4]), tonumber(ARGV[b + 5])
  local v = redis.call('GET', KEYS[i])
  local keep = 0
  if burst then
    local r, rt, t, tt = decode(v)
    if rpm > 0 then
      r, rt = refill(r, rt, now, rpm)
      r = math.min(r - dr * U, rpm * U)
      keep = math.max(keep, wait(r, rpm * U, rpm))
    end
    if tpm > 0 then
      t, tt = refill(t, tt, now, tpm)
      t = math.min(t - dt * U, tpm * U)
      keep = math.max(keep, wait(t, tpm * U, tpm))
    end
    redis.call('SET', KEYS[i], encode(r, rt, t, tt), 'PX', keep + 1000)
  else
    local rw, tw = wdecode(v, now)
    if rpm > 0 then wtake(rw, now, dr) end
    if tpm > 0 then wtake(tw, now, dt) end
    keep = math.max(wreset(rw, now), wreset(tw, now))
    redis.call('SET', KEYS[i], wencode(rw, tw), 'PX', keep + 1000)
  end
end
redis.call('ZADD', KEYS[1], now + ttl, id)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('PEXPIRE', KEYS[1], 2 * ttl)
return redis.call('ZCARD', KEYS[1])
