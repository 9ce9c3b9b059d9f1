-- delete_token: KEYS[1] the namespace prefix, ARGV[1] the id. Returns 1 if it was stored, else 0.
local p = KEYS[1]
local key = p .. ':t:' .. ARGV[1]
local flat = redis.call('HGETALL', key)
if #flat == 0 then return 0 end
for i = 1, #flat, 2 do
  local f = flat[i]
  if f == 'user_name' or f == 'refresh_token' or f == 'access_token' or f == 'grant_token' then
    redis.call('SREM', p .. ':i:' .. f .. ':' .. flat[i + 1], ARGV[1])
  end
end
redis.call('DEL', key)
redis.call('SREM', p .. ':ids', ARGV[1])
redis.call('HDEL', p .. ':all', ARGV[1])
return 1
