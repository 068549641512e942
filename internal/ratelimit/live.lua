-- live.lua: one instance's heartbeat, and its hand-back of what it admitted
-- while Redis was unreachable. The instance registry is a sorted set of
-- instance ids scored by the expiry of their heartbeat (unix ms); the
-- instances alive are those not expired, and a store failure splits every
-- limit between them. The outage mark is a set of the instances back from
-- an outage (see outage.go): created by the first one back, joined by
-- every heartbeat while it stands, gone when all live instances are in it.
--
-- A call that reaches Redis after its deadline takes no debts and only
-- drops the instance from the outage mark: the instance gave up on it (a
-- Redis stalled when it was sent runs it when it thaws), so it still owes
-- its debts and still decides on its share; counting it back would let
-- the mark go while it does (outage.go).
--
-- KEYS: [1] the registry, [2] the outage mark, then the limit keys (as
-- admit.lua's KEYS[2i-1]) owed to. ARGV: [1] now in unix ms, or -1 for
-- Redis's clock; [2] heartbeat ttl ms; [3] the instance id; [4] 1 if the
-- instance is back from an outage, else 0; [5] how long a new mark lives,
-- ms; [6] the deadline, unix ms on the clock of [1] (0: none); then for
-- each limit key i, from ARGV[6+5(i-3)+1]: rpm, tpm, burst (1|0),
-- requests owed, tokens owed.
-- Returns the number of live instances, this one included (0 when too
-- late), now, and 1 if too late, else 0.
local now = clock(ARGV[1])
local ttl, id, back, mark = tonumber(ARGV[2]), ARGV[3], ARGV[4] == '1', tonumber(ARGV[5])
local deadline = tonumber(ARGV[6])
if deadline > 0 and now > deadline then
  redis.call('SREM', KEYS[2], id)
  return {0, now, 1}
end
for i = 3, #KEYS do
  local b = 6 + 5 * (i - 3)
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
local n = redis.call('ZCARD', KEYS[1])
local marked = redis.call('EXISTS', KEYS[2]) == 1
if back or marked then
  redis.call('SADD', KEYS[2], id)
  if not marked then redis.call('PEXPIRE', KEYS[2], mark) end
  if redis.call('SCARD', KEYS[2]) >= n then redis.call('DEL', KEYS[2]) end
end
return {n, now, 0}
