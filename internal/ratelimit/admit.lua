-- admit.lua: decide for one request over every scope that applies to it and,
-- if every limit has room, take from all of them. One call, atomic. It
-- mirrors memory.go's admit, on bucket.lua's and window.lua's arithmetic.
--
-- KEYS, for each scope i: KEYS[2i-1] its limits (a string: token buckets,
-- see bucket.lua, for a burst rule; sliding windows, see window.lua,
-- otherwise), KEYS[2i] its concurrency leases (a sorted set of request ids
-- scored by lease expiry, unix ms); then the outage mark and the instance
-- registry (live.lua): while the mark stands, the rpm and tpm limits are
-- scaled by (instances back / live instances), leaving the shares of the
-- instances still deciding on their own untouched (outage.go).
-- ARGV: [1] now in unix ms, or -1 for Redis's clock; [2] lease ms; [3] the
-- request id; [4] the tokens to reserve; then for each scope i, from
-- ARGV[4+4(i-1)+1]: rpm, tpm, concurrency (0: no such limit), burst (1|0);
-- then the deadline, unix ms on the clock of [1] (0: none), and the
-- instance id. A call run after its deadline, which its instance gave up
-- on and decided in memory (a stalled Redis runs it when it thaws), takes
-- nothing and drops the instance from the outage mark: it is failing
-- again, not back (outage.go). It returns -1, now.
-- Returns: admitted (1|0), now, refusing scope (1-based, 0: none), refusing
-- limit (1 rpm, 2 tpm, 3 concurrency), retry-after ms, then for each scope:
-- requests level, tokens level, leases held (after the request if
-- admitted), requests reset, tokens reset (ms; -1 for buckets, whose level
-- says it). A window's level is its remaining amount in bucket units. Last,
-- the mark's instances back and live instances (1, 1: no mark), from which
-- an instance that finds Redis failing again takes its share (outage.go).
local now = clock(ARGV[1])
local lease, id, est = tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local n = (#KEYS - 2) / 2
local deadline = tonumber(ARGV[5 + 4 * n])
if deadline > 0 and now > deadline then
  redis.call('SREM', KEYS[#KEYS - 1], ARGV[6 + 4 * n])
  return {-1, now}
end
-- The outage mark: num / den of each limit is Redis's to give.
local num, den = 1, 1
local backs = redis.call('SCARD', KEYS[#KEYS - 1])
if backs > 0 then
  local live = redis.call('ZCOUNT', KEYS[#KEYS], now, '+inf')
  if backs < live then num, den = backs, live end
end
-- eff is a limit under the mark; reserve, in bucket units, what the mark
-- keeps out of a bucket's reach.
local function eff(limit)
  if num == den or limit == 0 then return limit end
  return math.max(math.floor(limit * num / den), 1)
end
local function reserve(limit) return (limit - eff(limit)) * U end
local st = {}
local bkeys, bidx = {}, {}
for i = 1, n do
  local b = 4 + 4 * (i - 1)
  st[i] = {rpm = tonumber(ARGV[b + 1]), tpm = tonumber(ARGV[b + 2]), conc = tonumber(ARGV[b + 3]), burst = ARGV[b + 4] == '1', r = 0, t = 0, c = 0}
  if st[i].rpm > 0 or st[i].tpm > 0 then
    bkeys[#bkeys + 1] = KEYS[2 * i - 1]
    bidx[i] = #bkeys
  end
end
local vals = {}
if #bkeys > 0 then vals = redis.call('MGET', unpack(bkeys)) end

local dwait, dscope, dkind = 0, 0, 0
for i = 1, n do
  local s = st[i]
  if bidx[i] and s.burst then
    local r, rt, t, tt = decode(vals[bidx[i]])
    s.r, s.rt, s.t, s.tt = r, rt, t, tt
    if s.rpm > 0 then
      s.r, s.rt = refill(r, rt, now, s.rpm)
      local w = wait(s.r, math.min(1, s.rpm) * U + reserve(s.rpm), s.rpm)
      if w > dwait then dwait, dscope, dkind = w, i, 1 end
    end
    if s.tpm > 0 then
      s.t, s.tt = refill(t, tt, now, s.tpm)
      if est > 0 then
        local w = wait(s.t, math.min(est, eff(s.tpm)) * U + reserve(s.tpm), s.tpm)
        if w > dwait then dwait, dscope, dkind = w, i, 2 end
      end
    end
  elseif bidx[i] then
    s.rw, s.tw = wdecode(vals[bidx[i]], now)
    if s.rpm > 0 then
      local w = wwait(s.rw, now, 1, eff(s.rpm))
      if w > dwait then dwait, dscope, dkind = w, i, 1 end
    end
    if s.tpm > 0 and est > 0 then
      local w = wwait(s.tw, now, math.min(est, eff(s.tpm)), eff(s.tpm))
      if w > dwait then dwait, dscope, dkind = w, i, 2 end
    end
  end
  if s.conc > 0 then
    -- Expired leases (their instance died) are dropped when they would
    -- make a difference: one call fewer while there is room.
    s.c = redis.call('ZCARD', KEYS[2 * i])
    if s.c >= s.conc then
      redis.call('ZREMRANGEBYSCORE', KEYS[2 * i], '-inf', now)
      s.c = redis.call('ZCARD', KEYS[2 * i])
    end
    if s.c >= s.conc and 1000 > dwait then dwait, dscope, dkind = 1000, i, 3 end
  end
end

local out = {0, now, dscope, dkind, dwait}
if dwait == 0 then out[1] = 1 end
for i = 1, n do
  local s = st[i]
  local rr, tr = -1, -1
  if dwait == 0 and bidx[i] then
    local ttl = 0
    if s.burst then
      if s.rpm > 0 then
        s.r = s.r - U
        ttl = math.max(ttl, wait(s.r, s.rpm * U, s.rpm))
      end
      if s.tpm > 0 then
        s.t = s.t - est * U
        ttl = math.max(ttl, wait(s.t, s.tpm * U, s.tpm))
      end
      -- Expired is full: the key lives until its buckets would be.
      redis.call('SET', KEYS[2 * i - 1], encode(s.r, s.rt, s.t, s.tt), 'PX', ttl + 1000)
    else
      if s.rpm > 0 then wtake(s.rw, now, 1) end
      if s.tpm > 0 then wtake(s.tw, now, est) end
      -- Expired is empty: the key lives until its windows would be.
      ttl = math.max(wreset(s.rw, now), wreset(s.tw, now))
      redis.call('SET', KEYS[2 * i - 1], wencode(s.rw, s.tw), 'PX', ttl + 1000)
    end
  end
  if dwait == 0 and s.conc > 0 then
    redis.call('ZADD', KEYS[2 * i], now + lease, id)
    redis.call('PEXPIRE', KEYS[2 * i], lease + 1000)
    s.c = s.c + 1
  end
  if bidx[i] and not s.burst then
    s.r, s.t = (s.rpm - s.rw.used) * U, (s.tpm - s.tw.used) * U
    rr, tr = wreset(s.rw, now), wreset(s.tw, now)
  end
  out[#out + 1] = (s.rpm > 0 and s.r) or 0
  out[#out + 1] = (s.tpm > 0 and s.t) or 0
  out[#out + 1] = s.c
  out[#out + 1] = rr
  out[#out + 1] = tr
end
out[#out + 1] = num
out[#out + 1] = den
return out
