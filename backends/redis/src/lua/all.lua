-- get_tokens: KEYS[1] the namespace prefix. Returns every token as HGETALL's list.
local p = KEYS[1]
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', p .. ':ids')) do
  out[#out + 1] = redis.call('HGETALL', p .. ':t:' .. id)
end
return out
