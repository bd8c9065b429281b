package dev.easel.gateway.api;

import dev.easel.gateway.pool.ModelRouting;
import dev.easel.gateway.pool.WorkerRegistry;

import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.util.List;

/** The pool: which models are served, by which workers. */
@Path("/v1")
@org.eclipse.microprofile.openapi.annotations.security.SecurityRequirement(name = "apiKey")
@Produces(MediaType.APPLICATION_JSON)
public class PoolResource {
    /**
     * A model as {@code GET /v1/models} shows it; {@code queuedJobs} are accepted jobs that no worker started yet, and
     * {@code startEtaMillis} estimates how long a job submitted now waits to start; {@code loras} and
     * {@code embeddings} are what its workers' folders hold (for {@code <lora:NAME:WEIGHT>} and trigger words);
     * {@code kind} is "generator", "upscaler" for the x4 upscaler, or "image-upscaler" for an ONNX upscaler (for both,
     * a job gives the picture as initImage); {@code upscaleFactor} how many times an upscaler enlarges each side;
     * {@code schedulers} the ones a job may name (an SD3 model: euler; an image upscaler: none); {@code warmDevices}
     * of {@code devices} hold the model now (the others load it when a job asks, which a {@code loading} event shows);
     * {@code placedDevices} take its queue (those holding it and those placed to load it for its backlog), and
     * {@code loadingDevices} are loading it now.
     */
    public record ModelView(String id, List<String> workers, int devices, int busyDevices, long queuedJobs,
            Long startEtaMillis, boolean isDefault, List<String> loras, List<String> embeddings, String kind,
            int upscaleFactor, List<String> schedulers, int warmDevices, int placedDevices,
            int loadingDevices) {
    }

    public record Models(List<ModelView> models) {
    }

    public record Workers(List<WorkerRegistry.WorkerView> workers) {
    }

    @Inject
    WorkerRegistry registry;

    @Inject
    ModelRouting routing;

    @GET
    @Path("models")
    public Models models() {
        String fallback = routing.defaultModel().orElse(null);
        return new Models(registry.servedModels().stream().map(id -> {
            List<WorkerRegistry.WorkerView> serving = registry.serving(id);
            return new ModelView(id, serving.stream().map(WorkerRegistry.WorkerView::id).toList(),
                    serving.stream().mapToInt(WorkerRegistry.WorkerView::devices).sum(),
                    serving.stream().mapToInt(WorkerRegistry.WorkerView::busyDevices).sum(), routing.queuedJobs(id),
                    routing.startEtaMillis(id), id.equals(fallback), routing.loras(id), routing.embeddings(id),
                    routing.kind(id), routing.upscaleFactor(id), routing.schedulers(id), routing.warmDevices(id),
                    routing.placedDevices(id), routing.loadingDevices(id));
        }).toList());
    }

    @GET
    @Path("workers")
    public Workers workers() {
        return new Workers(registry.workers());
    }
}
