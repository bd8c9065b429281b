package dev.easel.contracts;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class EventStreamTest {
    private static final List<String> STREAM = List.of(
            "id:0", "event:queued", "data:{\"type\":\"queued\",\"seed\":42}", "",
            ": a comment line", "id: 1", "event: progress", "data: {\"type\":\"progress\",", "data: \"step\":1}", "",
            "id:2", "event:completed", "data:{\"type\":\"completed\"}", "");

    @Test
    void readsIdsNamesAndJsonDataIncludingDataOverSeveralLines() {
        List<EventStream.Event> events = new ArrayList<>();
        EventStream.read(STREAM.iterator(), events::add);
        assertEquals(List.of("0", "1", "2"), events.stream().map(EventStream.Event::id).toList());
        assertEquals(List.of("queued", "progress", "completed"), events.stream().map(EventStream.Event::name).toList());
        assertEquals(42, events.get(0).data().path("seed").asInt());
        assertEquals(1, events.get(1).data().path("step").asInt(), "the two data lines joined");
    }

    @Test
    void stopsWhenTheSinkSaysSo() {
        List<String> names = new ArrayList<>();
        EventStream.read(STREAM.iterator(), event -> names.add(event.name()) && names.size() < 2);
        assertEquals(List.of("queued", "progress"), names);
    }
}
