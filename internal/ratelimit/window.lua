-- window.lua: the sliding-window arithmetic of window.go, in Lua, operation
-- for operation (the scripts include it after bucket.lua). A window is a
-- list of {slot, amount} still held, oldest first, with their sum in .used;
-- stored as "slot,amount,slot,amount..." (a scope's two windows, requests
-- and tokens, joined by '|' in one string key).
local SLOT, SLOTS = 1000, 61
local function wparse(v, now)
  local w = {used = 0}
  if v == nil or v == '' then return w end
  local cur = math.floor(now / SLOT)
  for s, a in string.gmatch(v, '(%d+),(%d+)') do
    s, a = tonumber(s), tonumber(a)
    if cur - s < SLOTS and a > 0 then
      w[#w + 1] = {s, a}
      w.used = w.used + a
    end
  end
  return w
end
local function wdecode(v, now)
  if not v then return wparse(nil, now), wparse(nil, now) end
  local r, t = string.match(v, '^([^|]*)|(.*)$')
  return wparse(r, now), wparse(t, now)
end
local function wstr(w)
  local out = {}
  for i = 1, #w do
    if w[i][2] > 0 then out[#out + 1] = num(w[i][1]) .. ',' .. num(w[i][2]) end
  end
  return table.concat(out, ',')
end
local function wencode(r, t) return wstr(r) .. '|' .. wstr(t) end
-- wwait is the ms from now until w can take want.
local function wwait(w, now, want, limit)
  local free = limit - w.used
  if free >= want then return 0 end
  for i = 1, #w do
    free = free + w[i][2]
    if free >= want then return (w[i][1] + SLOTS) * SLOT - now end
  end
  return SLOTS * SLOT
end
local function wtake(w, now, amt)
  if amt <= 0 then return end
  local cur = math.floor(now / SLOT)
  local n = #w
  if n > 0 and w[n][1] == cur then w[n][2] = w[n][2] + amt else w[n + 1] = {cur, amt} end
  w.used = w.used + amt
end
local function wrefund(w, at, amt)
  local s = math.floor(at / SLOT)
  for i = 1, #w do
    if w[i][1] == s then
      local r = math.min(amt, w[i][2])
      w[i][2] = w[i][2] - r
      w.used = w.used - r
      return
    end
  end
end
-- wreset is the ms from now until w holds nothing.
local function wreset(w, now)
  for i = #w, 1, -1 do
    if w[i][2] > 0 then return (w[i][1] + SLOTS) * SLOT - now end
  end
  return 0
end
