package dev.easel.gateway.events;

import jakarta.enterprise.context.ApplicationScoped;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.common.TopicPartition;

/**
 * How far this replica has read each partition the {@link EventLogReader} follows: the consumer's position, not the
 * last record's offset (compaction leaves gaps the records do not show). Beans that must wait until the replica has
 * read a topic to some offset ask here, not the reader.
 */
@ApplicationScoped
public class TopicPositions {
    private final Map<TopicPartition, Long> positions = new ConcurrentHashMap<>();

    void update(TopicPartition partition, long position) {
        positions.put(partition, position);
    }

    /** The position in {@code partition} (0 before reading started). */
    public long of(TopicPartition partition) {
        return positions.getOrDefault(partition, 0L);
    }
}
