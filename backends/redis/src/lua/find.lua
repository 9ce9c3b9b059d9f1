-- The stored token the lookups designate: KEYS[1] the namespace prefix, ARGV (field, value)
-- pairs tried in order; the lowest id among several matches. Returns HGETALL's list, or false.
local p = KEYS[1]
for i = 1, #ARGV, 2 do
  local ids = redis.call('SMEMBERS', p .. ':i:' .. ARGV[i] .. ':' .. ARGV[i + 1])
  if #ids > 0 then
    table.sort(ids)
    return redis.call('HGETALL', p .. ':t:' .. ids[1])
  end
end
return false
