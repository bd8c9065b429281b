package dev.easel.worker;

import dev.easel.engine.pipeline.GenerationResult;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * OpenTelemetry traces of the worker's jobs, on only when {@code OTEL_EXPORTER_OTLP_ENDPOINT} names a collector
 * (OTLP over HTTP): a job's span continues the trace whose context the gateway put in the job record's headers
 * ({@code traceparent}), with the engine's phases (text encoding, denoising, decoding) and the upload as children,
 * and the job's events carry it on.
 */
final class Tracing implements AutoCloseable {
    static final AttributeKey<String> JOB_ID = AttributeKey.stringKey("easel.job_id");
    private static final W3CTraceContextPropagator PROPAGATOR = W3CTraceContextPropagator.getInstance();
    private static final TextMapGetter<Headers> HEADERS = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Headers headers) {
            List<String> keys = new ArrayList<>();
            headers.forEach(h -> keys.add(h.key()));
            return keys;
        }

        @Override
        public String get(Headers headers, String key) {
            Header header = headers == null ? null : headers.lastHeader(key);
            return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
        }
    };

    private final OpenTelemetrySdk sdk;
    private final Tracer tracer;

    private Tracing(OpenTelemetrySdk sdk, OpenTelemetry openTelemetry) {
        this.sdk = sdk;
        this.tracer = openTelemetry.getTracer("dev.easel.worker");
    }

    static Tracing fromEnvironment(Map<String, String> env, String workerId) {
        String endpoint = env.get("OTEL_EXPORTER_OTLP_ENDPOINT");
        if (endpoint == null || endpoint.isBlank()) {
            return new Tracing(null, OpenTelemetry.noop());
        }
        String traces = endpoint.endsWith("/") ? endpoint + "v1/traces" : endpoint + "/v1/traces";
        Resource resource = Resource.getDefault().merge(Resource.create(Attributes.of(
                AttributeKey.stringKey("service.name"), env.getOrDefault("OTEL_SERVICE_NAME", "easel-worker"),
                AttributeKey.stringKey("service.instance.id"), workerId)));
        SdkTracerProvider provider = SdkTracerProvider.builder().setResource(resource)
                .addSpanProcessor(BatchSpanProcessor.builder(OtlpHttpSpanExporter.builder().setEndpoint(traces)
                        .build()).setScheduleDelay(Duration.ofMillis(500)).build())
                .build();
        OpenTelemetrySdk sdk = OpenTelemetrySdk.builder().setTracerProvider(provider).build();
        return new Tracing(sdk, sdk);
    }

    /** The job's span, a child of the trace context in the record's headers (none: a new trace). */
    Span startJob(Headers headers, String jobId, int attempt) {
        Context parent = PROPAGATOR.extract(Context.root(), headers, HEADERS);
        return tracer.spanBuilder("easel.job").setParent(parent).setSpanKind(SpanKind.CONSUMER)
                .setAttribute(JOB_ID, jobId).setAttribute("easel.attempt", attempt).startSpan();
    }

    /**
     * The engine's phases as children of {@code job}, laid end to end from {@code startMillis} (the engine reports
     * how long each took; with several images, denoising and decoding alternate, and each span is their sum).
     */
    void phases(Span job, long startMillis, GenerationResult.Timings timings) {
        long at = TimeUnit.MILLISECONDS.toNanos(startMillis);
        at = phase(job, "text encoding", at, timings.textEncoderMillis());
        at = phase(job, "denoising", at, timings.denoiseMillis());
        phase(job, "decoding", at, timings.vaeDecodeMillis());
    }

    private long phase(Span job, String name, long startNanos, double millis) {
        long end = startNanos + (long) (millis * 1e6);
        tracer.spanBuilder(name).setParent(Context.root().with(job)).setStartTimestamp(startNanos,
                TimeUnit.NANOSECONDS).startSpan().end(end, TimeUnit.NANOSECONDS);
        return end;
    }

    /** A child of {@code job} around the upload; the caller ends it. */
    Span startUpload(Span job) {
        return tracer.spanBuilder("upload").setParent(Context.root().with(job)).startSpan();
    }

    /** Writes the current span's context into {@code headers}, so that what a record causes joins the trace. */
    static void inject(Headers headers) {
        PROPAGATOR.inject(Context.current(), headers, (carrier, key, value) ->
                carrier.add(key, value.getBytes(StandardCharsets.UTF_8)));
    }

    @Override
    public void close() {
        if (sdk != null) {
            sdk.getSdkTracerProvider().forceFlush().join(5, TimeUnit.SECONDS);
            sdk.close();
        }
    }
}
