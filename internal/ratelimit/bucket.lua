-- bucket.lua: the bucket arithmetic of bucket.go, in Lua, operation for
-- operation; the scripts are this file followed by admit.lua, settle.lua or
-- renew.lua. Lua numbers are doubles, exact for every integer used here
-- (see bucket.go), so Redis and the memory store decide exactly alike.
local U = 60000
local function ceildiv(a, b) return math.floor((a + b - 1) / b) end
-- refill returns a bucket's level and last update brought up to now; a
-- missing bucket is full.
local function refill(level, last, now, limit)
  local cap = limit * U
  if last == nil or level == nil or level >= cap then
    level = cap
  elseif now > last then
    local el = now - last
    if el >= ceildiv(cap - level, limit) then level = cap else level = level + el * limit end
  end
  if last == nil or now > last then last = now end
  return level, last
end
-- wait is the milliseconds until a bucket at level reaches want.
local function wait(level, want, limit)
  if level >= want then return 0 end
  return ceildiv(want - level, limit)
end
-- num writes an integer in full (tostring would give 14 digits).
local function num(x) return string.format('%.0f', x) end
-- clock is the time in unix ms: the caller's (tests), or Redis's own.
local function clock(arg)
  local now = tonumber(arg)
  if now < 0 then
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return now
end

-- A scope's buckets are one string, "r:rt:t:tt" (requests level and last
-- update, tokens level and last update; an empty field: no such bucket),
-- so that reading all scopes is one MGET and writing one is one SET with
-- its expiry: Lua's redis.call costs more than the commands themselves.
local function decode(v)
  if not v then return nil, nil, nil, nil end
  local r, rt, t, tt = string.match(v, '^([^:]*):([^:]*):([^:]*):([^:]*)$')
  return tonumber(r), tonumber(rt), tonumber(t), tonumber(tt)
end
local function field(x) if x == nil then return '' end return num(x) end
local function encode(r, rt, t, tt) return field(r) .. ':' .. field(rt) .. ':' .. field(t) .. ':' .. field(tt) end

