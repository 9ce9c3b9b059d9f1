-- delete_tokens: KEYS[1] the namespace prefix; ARGV[1] "drop" also removes the id counter (the
-- namespace is gone). Touches only the namespace's own keys, found from its tokens: never KEYS,
-- never FLUSHDB. Every index set holds ids of stored tokens only, so the stored tokens' key
-- values name every index set there is.
local p = KEYS[1]
local KEYED = { 'user_name', 'refresh_token', 'access_token', 'grant_token' }
for _, id in ipairs(redis.call('SMEMBERS', p .. ':ids')) do
  local key = p .. ':t:' .. id
  local values = redis.call('HMGET', key, unpack(KEYED))
  for i, f in ipairs(KEYED) do
    if values[i] then redis.call('DEL', p .. ':i:' .. f .. ':' .. values[i]) end
  end
  redis.call('DEL', key)
end
-- Earlier releases also listed every index set they made in :indexes.
for _, index in ipairs(redis.call('SMEMBERS', p .. ':indexes')) do
  redis.call('DEL', index)
end
redis.call('DEL', p .. ':ids', p .. ':indexes', p .. ':all')
if ARGV[1] == 'drop' then
  -- :ver is the version key of earlier releases' get_tokens, gone with the namespace too.
  redis.call('DEL', p .. ':seq', p .. ':ver')
end
return 1
