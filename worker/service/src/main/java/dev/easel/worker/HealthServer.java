package dev.easel.worker;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.function.BooleanSupplier;

/**
 * {@code /health/live} (the process answers), {@code /health/ready} (model loaded and warmed, consuming) and
 * {@code /metrics} (Prometheus text).
 */
final class HealthServer implements AutoCloseable {
    private final HttpServer server;

    HealthServer(String host, int port, BooleanSupplier ready, String workerId, WorkerMetrics metrics)
            throws IOException {
        server = HttpServer.create(new InetSocketAddress(host, port), 0);
        server.createContext("/health/live", exchange -> answer(exchange, 200, status("UP", workerId)));
        server.createContext("/health/ready", exchange -> {
            boolean up = ready.getAsBoolean();
            answer(exchange, up ? 200 : 503, status(up ? "UP" : "DOWN", workerId));
        });
        server.createContext("/metrics", exchange -> answer(exchange, 200, metrics.scrape(),
                "text/plain; version=0.0.4; charset=utf-8"));
    }

    private static String status(String status, String workerId) {
        return "{\"status\":\"" + status + "\",\"worker\":\"" + workerId.replace("\"", "") + "\"}";
    }

    void start() {
        server.start();
    }

    private static void answer(HttpExchange exchange, int code, String body) throws IOException {
        answer(exchange, code, body, "application/json");
    }

    private static void answer(HttpExchange exchange, int code, String body, String type) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.sendResponseHeaders(code, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
