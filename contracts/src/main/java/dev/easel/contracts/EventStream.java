package dev.easel.contracts;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Iterator;
import java.util.function.Predicate;

/**
 * A job's Server-Sent Events as the gateway writes them ({@code GET /v1/jobs/{id}/events}): each event's {@code id} is
 * its position (resume with {@code Last-Event-ID}), its name the event's type, its data the event's JSON. The one
 * reader the CLI, the benchmarks and the tests use.
 */
public final class EventStream {
    /** One event: {@code id} (null if the stream gave none), {@code name} (the type) and its JSON {@code data}. */
    public record Event(String id, String name, JsonNode data) {
    }

    private EventStream() {
    }

    /**
     * Reads events from the lines of a {@code text/event-stream} body and hands each to {@code sink}, until the sink
     * returns false or the lines end. Multi-line data is joined with line breaks, as the SSE specification says.
     */
    public static void read(Iterator<String> lines, Predicate<Event> sink) {
        String id = null;
        String name = null;
        StringBuilder data = null;
        while (lines.hasNext()) {
            String line = lines.next();
            if (line.isEmpty()) {
                if (data != null) {
                    if (!sink.test(new Event(id, name, json(data.toString())))) {
                        return;
                    }
                }
                name = null;
                data = null;
            } else if (line.startsWith("id:")) {
                id = field(line, 3);
            } else if (line.startsWith("event:")) {
                name = field(line, 6);
            } else if (line.startsWith("data:")) {
                data = data == null ? new StringBuilder(field(line, 5)) : data.append('\n').append(field(line, 5));
            }
        }
    }

    private static JsonNode json(String data) {
        try {
            return Json.MAPPER.readTree(data);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("an event's data is not JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** A field's value: the text after the colon, without the one optional space. */
    private static String field(String line, int colon) {
        return line.startsWith(" ", colon) ? line.substring(colon + 1) : line.substring(colon);
    }
}
