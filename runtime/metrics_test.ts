import assert from "node:assert/strict";
import { Metrics, RequestMetrics } from "./metrics.ts";

Deno.test("RequestMetrics renders a counter and a cumulative histogram as Prometheus expects", async () => {
  const metrics = new Metrics("svc", { processMetrics: false });
  const series = metrics.requests.series("GET", "/x", 200);
  assert.equal(metrics.requests.series("GET", "/x", 200), series, "one series per label set");
  for (const seconds of [0.0005, 0.001, 0.003, 20]) RequestMetrics.record(series, seconds);
  const text = await metrics.render();
  const labels = 'method="GET",route="/x",status="200"';
  const line = (name: string, extra = "") =>
    text.split("\n").find((l) => l.startsWith(`${name}{${labels}${extra},service="svc"}`));
  assert.equal(line("http_requests_total")?.split(" ")[1], "4");
  assert.match(text, /# TYPE http_request_duration_seconds histogram/);
  // `le` is inclusive: 0.001 falls in the first bucket.
  assert.equal(line("http_request_duration_seconds_bucket", ',le="0.001"')?.split(" ")[1], "2");
  assert.equal(line("http_request_duration_seconds_bucket", ',le="0.005"')?.split(" ")[1], "3");
  assert.equal(line("http_request_duration_seconds_bucket", ',le="10"')?.split(" ")[1], "3");
  assert.equal(line("http_request_duration_seconds_bucket", ',le="+Inf"')?.split(" ")[1], "4");
  assert.equal(line("http_request_duration_seconds_count")?.split(" ")[1], "4");
  assert.equal(Number(line("http_request_duration_seconds_sum")?.split(" ")[1]), 20.0045);
});
