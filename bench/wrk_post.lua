-- wrk script for bench/run.sh's raw HTTPS baseline: keep-alive POSTs shaped
-- like a webhook delivery (the envelope around a data object of about
-- $WRK_DATA_BYTES bytes, and the Standard Webhooks headers), so that the
-- receiver does the same per-request work as for a real delivery.
--   WRK_DATA_BYTES=256 wrk -t2 -c16 -d10s -s bench/wrk_post.lua https://127.0.0.1:8443/wrk
local data_bytes = tonumber(os.getenv("WRK_DATA_BYTES") or "256")
-- {"sent_ns":0,"pad":"..."}, as long as bench/loadgen's events of that size;
-- sent_ns 0 tells the receiver there is no latency to record.
local pad = string.rep("x", math.max(data_bytes - 22, 0))
local data = '{"sent_ns":0,"pad":"' .. pad .. '"}'

wrk.method = "POST"
wrk.body = '{"id":"evt_01m8ftxm4z2tdatxyypjb7fzsc","type":"booking.created",'
  .. '"timestamp":"2026-11-28T01:04:35.523985Z","account_id":"bench","data":' .. data .. '}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["User-Agent"] = "wink-webhooks/0.2.0"
wrk.headers["webhook-id"] = "evt_01m8ftxm4z2tdatxyypjb7fzsc"
wrk.headers["webhook-timestamp"] = "1795818000"
wrk.headers["webhook-signature"] = "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="
