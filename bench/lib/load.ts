import { setMaxListeners } from "node:events";
import * as hdr from "hdr-histogram-js";
import { type Call, CallError } from "./clients.js";

/**
 * The open-loop load generator. Request i of a segment is due at `start + i / rate`; a timer
 * wakes the generator and it sends every request that is due, without waiting for responses,
 * so a slow target never slows the offered load (no coordinated omission), and the requests
 * are evenly spaced — not one burst per second (what autocannon's `--overallRate` does).
 * Latency is timed from the actual send; how late each send was against its schedule is
 * recorded separately (`send_lag`), so a generator that could not keep up is visible.
 */

export function newHistogram(): hdr.Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

export interface SegmentResult {
  /** Latency (unary) or time to first content (stream), µs. */
  latency: hdr.Histogram;
  /** Actual send time − scheduled send time, µs. */
  lag: hdr.Histogram;
  sent: number;
  ok: number;
  errors: Record<string, number>;
  /** One message per error kind, for the report. */
  errorSamples: Record<string, string>;
  /** Wall time from the first send until every call settled (or was cut), ms. */
  wallMs: number;
  /** CPU time of this (generator) process during the segment, ms (user + system). */
  clientCpuMs: number;
}

export interface SegmentOptions {
  rate: number;
  durationMs: number;
  /** After the last send, how long in-flight calls may take before they are cut (counted as errors). */
  drainMs: number;
  /** In-flight calls beyond this are not sent and count as errors (protects a collapsed target). */
  maxInFlight: number;
  /** Called when the first request is about to go out (start CPU/RSS accounting). */
  onStart?: () => void;
}

export async function runSegment(call: Call, opts: SegmentOptions): Promise<SegmentResult> {
  const latency = newHistogram();
  const lag = newHistogram();
  const errors: Record<string, number> = {};
  const errorSamples: Record<string, string> = {};
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const n = Math.max(1, Math.round((opts.rate * opts.durationMs) / 1000));
  const interval = 1000 / opts.rate;
  let inFlight = 0;
  let ok = 0;
  let sent = 0;
  let onIdle: (() => void) | undefined;

  const fail = (kind: string, message: string) => {
    errors[kind] = (errors[kind] ?? 0) + 1;
    errorSamples[kind] ??= message;
  };
  const settle = () => {
    inFlight--;
    if (inFlight === 0) onIdle?.();
  };

  const fire = (scheduled: number) => {
    sent++;
    if (inFlight >= opts.maxInFlight) {
      fail("in-flight cap", `more than ${opts.maxInFlight} calls in flight`);
      return;
    }
    inFlight++;
    const t0 = performance.now();
    lag.recordValue(Math.max(1, Math.round((t0 - scheduled) * 1000)));
    call(controller.signal).then(
      (mark) => {
        latency.recordValue(Math.max(1, Math.round((mark - t0) * 1000)));
        ok++;
        settle();
      },
      (err: unknown) => {
        if (controller.signal.aborted)
          fail("cut at segment end", `still in flight ${opts.drainMs} ms after the last send`);
        else if (err instanceof CallError) fail(err.kind, err.message);
        else fail((err as Error)?.name ?? "error", String((err as Error)?.message ?? err).slice(0, 200));
        settle();
      },
    );
  };

  const cpu0 = process.cpuUsage();
  opts.onStart?.();
  const start = performance.now() + 1;
  let i = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (i < n && start + i * interval <= now) fire(start + i++ * interval);
      if (i >= n) return resolve();
      setTimeout(tick, Math.max(0, start + i * interval - performance.now()));
    };
    tick();
  });
  if (inFlight > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, opts.drainMs);
      onIdle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  if (inFlight > 0) {
    controller.abort();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2_000);
      onIdle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    latency,
    lag,
    sent,
    ok,
    errors,
    errorSamples,
    wallMs: performance.now() - start,
    clientCpuMs: (cpu.user + cpu.system) / 1000,
  };
}

/** Percentiles of a histogram in ms (3 decimals), as reported everywhere. */
export function percentilesMs(h: hdr.Histogram): {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
} {
  const ms = (us: number) => Math.round(us) / 1000;
  return {
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  };
}

export function encodeHistogram(h: hdr.Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}
