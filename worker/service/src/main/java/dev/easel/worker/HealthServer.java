package dev.easel.worker;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.function.BooleanSupplier;

/** {@code /health/live} (the process answers) and {@code /health/ready} (model loaded and warmed, consuming). */
final class HealthServer implements AutoCloseable {
    private final HttpServer server;

    HealthServer(String host, int port, BooleanSupplier ready, String workerId) throws IOException {
        server = HttpServer.create(new InetSocketAddress(host, port), 0);
        server.createContext("/health/live", exchange -> answer(exchange, 200, status("UP", workerId)));
        server.createContext("/health/ready", exchange -> {
            boolean up = ready.getAsBoolean();
            answer(exchange, up ? 200 : 503, status(up ? "UP" : "DOWN", workerId));
        });
    }

    private static String status(String status, String workerId) {
        return "{\"status\":\"" + status + "\",\"worker\":\"" + workerId.replace("\"", "") + "\"}";
    }

    void start() {
        server.start();
    }

    private static void answer(HttpExchange exchange, int code, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
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
