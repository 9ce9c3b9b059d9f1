-- save_token, atomically. KEYS[1]: the namespace prefix. ARGV: n, then n (field, value) lookup
-- pairs (the key and its fallback, in order), then the ten token fields in the SDK's column order
-- (FIELDS), "" for absent. Returns {"ok", id}, {"conflict", message} or {"invalid", field,
-- message}.
--
-- Every write of a token keeps three things in step: its hash (:t:ID), one index set of ids per
-- value of each key field (:i:FIELD:VALUE, KEYED below), and its JSON in the namespace's :all
-- hash, which get_tokens reads in one command. An update writes only what changes: the common
-- save, an SDK refresh, changes the access token and the expiry time, and costs the server
-- HGETALL, HSET, SREM, SADD and the :all HSET.
local p = KEYS[1]
local n = tonumber(ARGV[1])
local base = 2 * n + 1
local FIELDS = { 'id', 'user_name', 'client_id', 'client_secret', 'refresh_token', 'access_token',
  'grant_token', 'expiry_time', 'redirect_url', 'api_domain' }
-- The fields with index sets, by position in FIELDS: user_name, refresh, access and grant token.
local KEYED = { false, true, false, false, true, true, true, false, false, false }
local id = ARGV[base + 1]

-- The lowest id (in string order) among the stored tokens whose `field` is `value`, or nil.
local function first(field, value)
  local ids = redis.call('SMEMBERS', p .. ':i:' .. field .. ':' .. value)
  if #ids == 0 then return nil end
  if #ids > 1 then table.sort(ids) end
  return ids[1]
end

-- Merges the token over the stored token `target`, whose hash's HGETALL is `flat`: the token's
-- present fields win, the others keep their stored value.
local function update(target, flat)
  local old = {}
  for i = 1, #flat, 2 do old[flat[i]] = flat[i + 1] end
  local changed, merged = {}, { 'id', target }
  for i = 2, 10 do
    local f, value = FIELDS[i], ARGV[base + i]
    local was = old[f]
    if value ~= '' and value ~= was then
      changed[#changed + 1] = i
    else
      value = was
    end
    if value and value ~= '' then
      merged[#merged + 1] = f
      merged[#merged + 1] = value
    end
  end
  if #changed == 0 then return { 'ok', target } end
  local user_name = ARGV[base + 2]
  if user_name ~= '' and user_name ~= old.user_name then
    local owner = first('user_name', user_name)
    if owner and owner ~= target then
      return { 'conflict', 'user name "' .. user_name .. '" already belongs to the stored token with id "' .. owner .. '"' }
    end
  end
  local writes = {}
  for _, i in ipairs(changed) do
    local f, value = FIELDS[i], ARGV[base + i]
    if KEYED[i] then
      local was = old[f]
      if was and was ~= '' then redis.call('SREM', p .. ':i:' .. f .. ':' .. was, target) end
      redis.call('SADD', p .. ':i:' .. f .. ':' .. value, target)
    end
    writes[#writes + 1] = f
    writes[#writes + 1] = value
  end
  redis.call('HSET', p .. ':t:' .. target, unpack(writes))
  redis.call('HSET', p .. ':all', target, cjson.encode(merged))
  return { 'ok', target }
end

if id ~= '' then
  local flat = redis.call('HGETALL', p .. ':t:' .. id)
  if #flat > 0 then return update(id, flat) end
end
local target = nil
for i = 1, n do
  target = first(ARGV[2 * i], ARGV[2 * i + 1])
  if target then break end
end
if target and id ~= '' then
  return { 'conflict', 'id "' .. id .. '" is not stored, but the token\'s lookup key matches the stored token with id "' .. target .. '"' }
end
if target then
  return update(target, redis.call('HGETALL', p .. ':t:' .. target))
end

if ARGV[base + 5] == '' and ARGV[base + 6] == '' and ARGV[base + 7] == '' then
  return { 'invalid', 'refresh_token', 'the token matches no stored token and has no refresh, grant or access token to insert' }
end
if id == '' then
  repeat
    id = tostring(redis.call('INCR', p .. ':seq'))
  until redis.call('EXISTS', p .. ':t:' .. id) == 0
else
  -- Count fresh ids on past a numeric id a caller chose, so they need not be skipped one by one.
  local number = tonumber(id)
  if number and number == math.floor(number) and number < 2 ^ 53
      and number > tonumber(redis.call('GET', p .. ':seq') or '0') then
    redis.call('SET', p .. ':seq', string.format('%d', number))
  end
end
local row = { 'id', id }
for i = 2, 10 do
  local f, value = FIELDS[i], ARGV[base + i]
  if value ~= '' then
    row[#row + 1] = f
    row[#row + 1] = value
    if KEYED[i] then redis.call('SADD', p .. ':i:' .. f .. ':' .. value, id) end
  end
end
redis.call('HSET', p .. ':t:' .. id, unpack(row))
redis.call('SADD', p .. ':ids', id)
redis.call('HSET', p .. ':all', id, cjson.encode(row))
return { 'ok', id }
