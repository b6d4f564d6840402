-- Every request a new object: /obj/<n> with n counting up from the first argument, so each is a miss.
dofile(os.getenv("SCRIPTS") .. "/wrk-report.lua")
function init(args) counter = tonumber(args[1]) end
function request()
  local path = "/obj/" .. string.format("%d", counter)
  counter = counter + 1
  return wrk.format("GET", path)
end
