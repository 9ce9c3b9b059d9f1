-- save_token, atomically. KEYS[1]: the namespace prefix. ARGV: n, then n (field, value) lookup
-- pairs (the key and its fallback, in order), then the ten token fields in the SDK's column order,
-- "" for absent. Returns {"ok", id}, {"conflict", message} or {"invalid", field, message}.
local p = KEYS[1]
local n = tonumber(ARGV[1])
local lookups = {}
for i = 1, n do
  lookups[i] = { ARGV[2 * i], ARGV[2 * i + 1] }
end
local names = { 'id', 'user_name', 'client_id', 'client_secret', 'refresh_token', 'access_token',
  'grant_token', 'expiry_time', 'redirect_url', 'api_domain' }
local indexed = { 'user_name', 'refresh_token', 'access_token', 'grant_token' }
local t = {}
for i, f in ipairs(names) do
  t[f] = ARGV[2 * n + 1 + i]
end

local function first(field, value)
  local ids = redis.call('SMEMBERS', p .. ':i:' .. field .. ':' .. value)
  if #ids == 0 then return nil end
  table.sort(ids)
  return ids[1]
end

-- Writes a new token: its hash, its index sets, its id and its JSON in :all.
local function write(id, row)
  for _, f in ipairs(indexed) do
    if row[f] ~= '' then
      local index = p .. ':i:' .. f .. ':' .. row[f]
      redis.call('SADD', index, id)
      redis.call('SADD', p .. ':indexes', index)
    end
  end
  local args = {}
  for _, f in ipairs(names) do
    if row[f] ~= '' then
      args[#args + 1] = f
      args[#args + 1] = row[f]
    end
  end
  redis.call('HSET', p .. ':t:' .. id, unpack(args))
  redis.call('SADD', p .. ':ids', id)
  -- The token again as one JSON value in the namespace's :all hash, which get_tokens reads in
  -- one command.
  redis.call('HSET', p .. ':all', id, cjson.encode(args))
end

local function update(target, flat)
  local old, is_indexed = {}, {}
  for i = 1, #flat, 2 do old[flat[i]] = flat[i + 1] end
  for _, f in ipairs(indexed) do is_indexed[f] = true end
  local changed = {}
  for _, f in ipairs(names) do
    if f ~= 'id' and t[f] ~= '' and t[f] ~= old[f] then
      changed[#changed + 1] = f
      changed[#changed + 1] = t[f]
    end
  end
  if #changed == 0 then return { 'ok', target } end
  if t.user_name ~= '' and t.user_name ~= old.user_name then
    local owner = first('user_name', t.user_name)
    if owner and owner ~= target then
      return { 'conflict', 'user name "' .. t.user_name .. '" already belongs to the stored token with id "' .. owner .. '"' }
    end
  end
  for i = 1, #changed, 2 do
    local f, value = changed[i], changed[i + 1]
    if is_indexed[f] then
      if old[f] and old[f] ~= '' then redis.call('SREM', p .. ':i:' .. f .. ':' .. old[f], target) end
      local index = p .. ':i:' .. f .. ':' .. value
      redis.call('SADD', index, target)
      redis.call('SADD', p .. ':indexes', index)
    end
    old[f] = value
  end
  redis.call('HSET', p .. ':t:' .. target, unpack(changed))
  local args = {}
  for _, f in ipairs(names) do
    if old[f] and old[f] ~= '' then
      args[#args + 1] = f
      args[#args + 1] = old[f]
    end
  end
  redis.call('HSET', p .. ':all', target, cjson.encode(args))
  return { 'ok', target }
end

if t.id ~= '' then
  local flat = redis.call('HGETALL', p .. ':t:' .. t.id)
  if #flat > 0 then return update(t.id, flat) end
end
local target = nil
for _, l in ipairs(lookups) do
  target = first(l[1], l[2])
  if target then break end
end
if target and t.id ~= '' then
  return { 'conflict', 'id "' .. t.id .. '" is not stored, but the token\'s lookup key matches the stored token with id "' .. target .. '"' }
end
if target then
  return update(target, redis.call('HGETALL', p .. ':t:' .. target))
end

if t.refresh_token == '' and t.grant_token == '' and t.access_token == '' then
  return { 'invalid', 'refresh_token', 'the token matches no stored token and has no refresh, grant or access token to insert' }
end
if t.id == '' then
  repeat
    t.id = tostring(redis.call('INCR', p .. ':seq'))
  until redis.call('EXISTS', p .. ':t:' .. t.id) == 0
else
  -- Count fresh ids on past a numeric id a caller chose, so they need not be skipped one by one.
  local n = tonumber(t.id)
  if n and n == math.floor(n) and n < 2 ^ 53 and n > tonumber(redis.call('GET', p .. ':seq') or '0') then
    redis.call('SET', p .. ':seq', string.format('%d', n))
  end
end
write(t.id, t)
return { 'ok', t.id }
