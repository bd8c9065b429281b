package dev.easel.contracts;

import java.util.List;
import java.util.Map;

/**
 * A worker's announcement on {@code easel.workers} (key: worker id), repeated every {@code heartbeatMillis} while it
 * runs; a tombstone withdraws it on shutdown. {@code state} is starting, idle, busy or draining; {@code busyDevices}
 * of {@code devices} run a job now. {@code loras} and {@code embeddings} name the LoRA files and textual-inversion
 * embeddings in the worker's folders (for every model it serves; absent from older workers); {@code upscalers} the
 * served models that are x4 upscalers (they enlarge an init image rather than draw from a prompt alone);
 * {@code imageUpscalers} the served ONNX image upscalers (ESRGAN family) with how many times each enlarges a side;
 * {@code schedulers} the schedulers each served model takes (an SD3 model only its flow-matching Euler);
 * {@code warmDevices} per model the devices holding it now (a job for a model with none waits for a load);
 * {@code deviceMemoryMb} each device's memory budget (absent: unbounded); {@code placedDevices} per model the devices
 * taking its queue (holding it, or placed to load it for its backlog: see the worker's {@code Placement});
 * {@code loadingDevices} per model the devices loading it now; {@code deviceMemoryUsedMb} what each device's loaded
 * models take (estimated from their weights), in device order.
 */
public record WorkerStatus(int schemaVersion, String workerId, List<String> models, int devices, int busyDevices,
        String executionProvider, String state, long startedAtMillis, long atMillis, long heartbeatMillis,
        List<String> loras, List<String> embeddings, List<String> upscalers, Map<String, Integer> imageUpscalers,
        Map<String, List<String>> schedulers, Map<String, Integer> warmDevices, Long deviceMemoryMb,
        Map<String, Integer> placedDevices, Map<String, Integer> loadingDevices, List<Long> deviceMemoryUsedMb) {
    public static final int SCHEMA_VERSION = 1;
    public static final String STARTING = "starting";
    public static final String IDLE = "idle";
    public static final String BUSY = "busy";
    public static final String DRAINING = "draining";
}
