package dev.easel.deploy;

import static dev.easel.deploy.GatewayClient.names;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.easel.contracts.JobRequest;
import dev.easel.contracts.Json;
import dev.easel.contracts.Topics;
import dev.easel.engine.model.ImageUpscaler;
import dev.easel.engine.model.ModelFolder;
import dev.easel.engine.model.OrtRuntime;
import dev.easel.engine.model.RuntimeOptions;
import dev.easel.engine.pipeline.GenerationRequest;
import dev.easel.engine.pipeline.Pipeline;
import dev.easel.engine.pipeline.StableDiffusionPipeline;
import dev.easel.engine.scheduler.Scheduler;
import dev.easel.engine.scheduler.Schedulers;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The service end to end on real components: a Kafka broker (KRaft), s3proxy, a worker process running the toy model
 * on ONNX Runtime, and gateway processes, all started the way {@code ./easel up} starts them.
 */
class ServiceEndToEndTest {
    private static final Duration START = Duration.ofSeconds(180);
    /** Every step reported (the default), and a job lock far shorter than the slow job below. */
    private static final Map<String, String> WORKER_ENVIRONMENT = Map.of("EASEL_LOCK_MS", "5000");

    private static TestStack stack;
    private static Path modelDir;
    private static String kafka;
    private static String gateway;
    /** Tenant e2e's client of the first gateway; its key works on every gateway of the stack. */
    private static GatewayClient e2e;
    private static ServiceProcess firstGateway;
    private static ServiceProcess worker;
    private static final List<String> JOBS = new ArrayList<>();

    @BeforeAll
    static void startStack() throws Exception {
        stack = TestStack.start("e2e");
        modelDir = stack.toyModel();
        kafka = stack.kafka();
        worker = stack.worker("e2e-worker", WORKER_ENVIRONMENT);
        firstGateway = stack.gateway("e2e-gateway", Map.of());
        gateway = firstGateway.address();
        e2e = GatewayClient.withNewKey(gateway, kafka, "e2e");
    }

    private static ServiceProcess start(ServiceProcess service) throws Exception {
        return stack.start(service);
    }

    @AfterAll
    static void stopStack() throws Exception {
        stack.stopAll();
    }

    private static JobRequest request(String prompt, int size, int steps, String scheduler, long seed) {
        return JobRequest.builder(prompt).size(size, size).steps(steps).guidanceScale(7.5).scheduler(scheduler)
                .seed(seed).build();
    }

    private static String submit(String server, JobRequest request) throws Exception {
        String id = client(server).submit(request);
        JOBS.add(id);
        return id;
    }

    private static HttpResponse<String> post(String server, String body) throws Exception {
        return client(server).post(body);
    }

    /** Tenant e2e's client of {@code server}. */
    private static GatewayClient client(String server) {
        return e2e.on(server);
    }

    private static JsonNode get(String server, String path) throws Exception {
        return client(server).get(path);
    }

    /** Reads SSE events until the stream ends or {@code limit} events arrived; fails after two minutes. */
    private static List<GatewayClient.Event> events(String server, String id, String lastEventId, int limit) throws Exception {
        return client(server).events(id, lastEventId, limit, Duration.ofSeconds(120));
    }

    @Test
    void aWorkerSetsTheShareGroupUpForItsLeasesOverAnOperatorsOverride() throws Exception {
        ConfigResource group = new ConfigResource(ConfigResource.Type.GROUP, Topics.WORKER_GROUP);
        AlterConfigOp renewalsOff = new AlterConfigOp(new ConfigEntry("share.renew.acknowledge.enable", "false"),
                AlterConfigOp.OpType.SET);
        try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka))) {
            admin.incrementalAlterConfigs(Map.of(group, List.of(renewalsOff))).all().get();
            try {
                ServiceProcess another = stack.worker("e2e-worker-group", WORKER_ENVIRONMENT);
                stack.stop(another, Duration.ofSeconds(30));
                Config settings = admin.describeConfigs(List.of(group)).all().get().get(group);
                assertEquals("true", settings.get("share.renew.acknowledge.enable").value(),
                        "renewals keep a job's lock");
                assertEquals("5000", settings.get("share.record.lock.duration.ms").value(), "EASEL_LOCK_MS");
                assertEquals("6", settings.get("share.delivery.count.limit").value(), "three past the 3 attempts");
                assertEquals("earliest", settings.get("share.auto.offset.reset").value());
            } finally {
                // The other tests' worker leases jobs in this group.
                admin.incrementalAlterConfigs(Map.of(group, List.of(new AlterConfigOp(new ConfigEntry(
                        "share.renew.acknowledge.enable", "true"), AlterConfigOp.OpType.SET)))).all().get();
            }
        }
    }

    @Test
    void progressEveryStepAndTheSameImageAsTheOfflineEngine() throws Exception {
        JobRequest request = request("a red circle on the left on a blue background", 64, 12, "euler", 5L);
        String id = submit(gateway, request);
        List<GatewayClient.Event> events = events(gateway, id, null, 100);
        List<String> expected = new ArrayList<>(List.of("queued", "started"));
        for (int i = 0; i < 12; i++) {
            expected.add("progress");
        }
        expected.add("completed");
        assertEquals(expected, names(events));

        try (ModelFolder model = ModelFolder.load(modelDir, new OrtRuntime(RuntimeOptions.defaults()))) {
            Scheduler scheduler = Schedulers.create("euler", model.schedulerConfig(), false, null);
            scheduler.setTimesteps(12);
            for (int i = 0; i < 12; i++) {
                JsonNode progress = events.get(2 + i).data();
                assertEquals(i + 1, progress.path("step").asInt());
                assertEquals(scheduler.timesteps()[i], progress.path("timestep").asDouble(), "timestep of step " + (i + 1));
                assertEquals(scheduler.sigmas()[i], progress.path("sigma").asDouble(), 1e-6);
            }
            byte[] offline = new StableDiffusionPipeline(model).generate(GenerationRequest.from(request), s -> { },
                    () -> false).images().get(0).png();
            byte[] served = client(gateway).image(id, 0);
            assertArrayEquals(offline, served, "the stored PNG equals the offline engine's for the same request");
        }
        JsonNode status = get(gateway, "/v1/jobs/" + id);
        assertEquals("completed", status.path("status").asText());
        assertTrue(status.path("workerId").asText().startsWith("e2e-worker"), status.toString());
        assertTrue(status.path("images").get(0).path("url").asText().startsWith(stack.s3() + "/"));
    }

    @Test
    void inpaintingWithAWeightedLongPromptGivesTheOfflineEnginesImage() throws Exception {
        java.awt.image.BufferedImage picture = new java.awt.image.BufferedImage(64, 64,
                java.awt.image.BufferedImage.TYPE_INT_RGB);
        java.awt.image.BufferedImage mask = new java.awt.image.BufferedImage(32, 32,
                java.awt.image.BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 64; x++) {
                picture.setRGB(x, y, (x * 4) << 16 | (y * 4) << 8 | 0x80);
                if (x < 32 && y < 32) {
                    mask.getRaster().setSample(x, y, 0, x >= 8 && x < 24 && y >= 8 && y < 24 ? 255 : 0);
                }
            }
        }
        String prompt = "a (red:1.4) circle, [blue] square, " + "on a table, ".repeat(30) + "BREAK in the evening";
        JobRequest inpaint = JobRequest.builder(prompt).negativePrompt("(blurry:1.2)").size(64, 64).steps(6)
                .guidanceScale(7.5).scheduler("euler").seed(11L).initImage(base64Png(picture)).strength(0.75)
                .mask(base64Png(mask)).build();
        String id = submit(gateway, inpaint);
        assertEquals("completed", names(events(gateway, id, null, 100)).getLast());
        try (ModelFolder model = ModelFolder.load(modelDir, new OrtRuntime(RuntimeOptions.defaults()))) {
            StableDiffusionPipeline pipeline = new StableDiffusionPipeline(model);
            byte[] offline = pipeline.generate(GenerationRequest.from(inpaint), s -> { }, () -> false).images().get(0)
                    .png();
            assertArrayEquals(offline, client(gateway).image(id, 0), "the worker inpainted as the offline engine does");
            JobRequest plain = JobRequest.builder(prompt).negativePrompt("(blurry:1.2)").size(64, 64).steps(6)
                    .guidanceScale(7.5).scheduler("euler").seed(11L).initImage(base64Png(picture)).strength(0.75)
                    .mask(base64Png(mask)).promptSyntax("plain").build();
            byte[] plainImage = pipeline.generate(GenerationRequest.from(plain), s -> { }, () -> false).images().get(0)
                    .png();
            assertFalse(java.util.Arrays.equals(offline, plainImage), "the weights and chunks changed the picture");
        }
    }

    @Test
    void aWorkerServingSdxlServesItThroughTheSamePoolAndApi() throws Exception {
        Path sdxl = stack.linkedModel("tiny-sdxl", sharedFolder("parity/sdxl/model/model_index.json",
                "the SDXL service test"));
        ServiceProcess sdxlWorker = stack.worker("e2e-worker-sdxl", List.of(sdxl), WORKER_ENVIRONMENT);
        try {
            org.awaitility.Awaitility.await("the gateway lists tiny-sdxl").atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> get(gateway, "/v1/models").toString().contains("\"tiny-sdxl\""));
            JobRequest job = JobRequest.builder("a red fox in the snow, (golden hour:1.2)").size(64, 64).steps(6)
                    .guidanceScale(5.0).scheduler("euler").seed(42L).model("tiny-sdxl").build();
            String id = submit(gateway, job);
            assertEquals("completed", names(events(gateway, id, null, 100)).getLast());
            assertEquals("e2e-worker-sdxl", get(gateway, "/v1/jobs/" + id).path("workerId").asText());
            try (ModelFolder model = ModelFolder.load(sdxl, new OrtRuntime(RuntimeOptions.defaults()))) {
                byte[] offline = new StableDiffusionPipeline(model).generate(GenerationRequest.from(job), s -> { },
                        () -> false).images().get(0).png();
                assertArrayEquals(offline, client(gateway).image(id, 0), "the SDXL worker's PNG is the engine's");
            }
        } finally {
            sdxlWorker.stop(Duration.ofSeconds(60));
        }
    }

    @Test
    void aWorkerAppliesLorasAndEmbeddingsFromItsFoldersAsDiffusersDoes() throws Exception {
        Path family = sharedFolder("parity/lora/cases.json", "the LoRA service test");
        Path parity = stack.linkedModel("parity-sd", family.resolveSibling("model"));
        ServiceProcess loraWorker = stack.worker("e2e-worker-lora", List.of(parity), Map.of(
                "EASEL_LORA_DIR", family.resolve("loras").toAbsolutePath().toString(),
                "EASEL_EMBEDDINGS_DIR", family.resolve("embeddings").toAbsolutePath().toString()));
        try {
            org.awaitility.Awaitility.await("the gateway lists parity-sd with its LoRAs").atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> get(gateway, "/v1/models").toString().contains("\"easel_style\""));
            // The lora_ti_ddim case of ../shared/parity/lora: a LoRA at 0.8 and a 1-vector embedding, as diffusers drew it.
            JobRequest job = JobRequest.builder("easelcat sitting on a windowsill, <lora:easel_style:0.8> soft light,"
                    + " cosy room").negativePrompt("blurry, low quality, watermark").size(64, 64).steps(15)
                    .guidanceScale(7.5).scheduler("ddim").seed(44L).noise("torch").model("parity-sd").build();
            String id = submit(gateway, job);
            assertEquals("completed", names(events(gateway, id, null, 100)).getLast());
            int worst = greyLevelsApart(client(gateway).image(id, 0), family.resolve("refs/lora_ti_ddim.png"));
            assertTrue(worst <= 2, "the service's picture is " + worst + " grey levels from diffusers'");
            HttpResponse<String> unknown = client(gateway).post(job.toBuilder().prompt("<lora:sparkle:1> a cat")
                    .build());
            assertEquals(400, unknown.statusCode(), unknown.body());
            assertTrue(unknown.body().contains("unknown LoRA 'sparkle' for model parity-sd; known: easel_locon,"
                    + " easel_peft, easel_style"), unknown.body());
        } finally {
            loraWorker.stop(Duration.ofSeconds(60));
        }
    }

    @Test
    void aPromptOfFourThousandCharactersIsStoredWithinTheObjectStoresMetadataLimits() throws Exception {
        // URL-encoded, this prompt is 12 KB: as object metadata it passes what S3 allows (2 KB), and the local server
        // refused it. The infotext travels in the PNG only.
        String prompt = "[".repeat(3990) + "a cat";
        JobRequest job = JobRequest.builder(prompt).size(64, 64).steps(2).scheduler("euler").seed(5L)
                .promptSyntax("plain").build();
        String id = submit(gateway, job);
        assertEquals(List.of("queued", "started", "completed"), names(events(gateway, id, null, 100)).stream()
                .filter(n -> !n.equals("progress")).toList());
        String png = new String(client(gateway).image(id, 0), java.nio.charset.StandardCharsets.ISO_8859_1);
        assertTrue(png.contains(prompt), "the PNG carries the whole prompt in its infotext");
    }

    @Test
    void aHiresFixJobReportsBothPassesAndStoresTheEnginesPicture() throws Exception {
        JobRequest job = JobRequest.builder("a white circle on a black background").size(64, 64).steps(4)
                .scheduler("euler").seed(17L).hires(new JobRequest.Hires(2.0, "lanczos", 4, 0.5)).build();
        String id = submit(gateway, job);
        List<GatewayClient.Event> all = events(gateway, id, null, 100);
        assertEquals("completed", all.getLast().name());
        GatewayClient.Event started = all.stream().filter(e -> e.name().equals("started")).findFirst().orElseThrow();
        assertEquals(6, started.data().path("totalSteps").asInt(), "4 steps, then 4 x 0.5");
        List<String> passes = all.stream().filter(e -> e.name().equals("progress"))
                .map(e -> e.data().path("pass").asText() + ":" + e.data().path("step").asInt()).toList();
        assertEquals(List.of("1:1", "1:2", "1:3", "1:4", "2:5", "2:6"), passes);
        assertEquals(128, all.getLast().data().path("images").get(0).path("width").asInt());
        try (ModelFolder model = ModelFolder.load(modelDir, new OrtRuntime(RuntimeOptions.defaults()))) {
            byte[] offline = new StableDiffusionPipeline(model).generate(GenerationRequest.from(job), s -> { },
                    () -> false).images().get(0).png();
            assertArrayEquals(offline, client(gateway).image(id, 0), "the worker's two passes are the engine's");
        }
    }

    @Test
    void aWorkerServingTheX4UpscalerEnlargesPicturesAsDiffusersDoes() throws Exception {
        Path family = sharedFolder("parity/upscale/cases.json", "the upscaler service test");
        Path upscaler = stack.linkedModel("x4-upscaler", family.resolve("model-upscaler"));
        ServiceProcess upscalerWorker = stack.worker("e2e-worker-upscaler", List.of(upscaler), WORKER_ENVIRONMENT);
        try {
            org.awaitility.Awaitility.await("the gateway lists x4-upscaler").atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> get(gateway, "/v1/models").toString().contains("\"x4-upscaler\""));
            // The up_16_nl20_g9 case of ../shared/parity/upscale: a 16 x 16 picture to 64 x 64.
            JobRequest job = JobRequest.builder("a lighthouse on a cliff at sunset, oil painting")
                    .negativePrompt("blurry, low quality, watermark").steps(20).guidanceScale(9.0).seed(1L)
                    .noiseLevel(20).noise("torch").model("x4-upscaler").initImage(java.util.Base64.getEncoder()
                            .encodeToString(java.nio.file.Files.readAllBytes(family.resolve("inputs/lowres-16x16.png"))))
                    .build();
            String id = submit(gateway, job);
            assertEquals("completed", names(events(gateway, id, null, 100)).getLast());
            int worst = greyLevelsApart(client(gateway).image(id, 0), family.resolve("refs/up_16_nl20_g9.png"));
            assertTrue(worst <= 2, "the service's picture is " + worst + " grey levels from diffusers'");
        } finally {
            upscalerWorker.stop(Duration.ofSeconds(60));
        }
    }

    @Test
    void aWorkerServingAnSd3ModelMakesDiffusersPicture() throws Exception {
        Path family = sharedFolder("parity/sd3/cases.json", "the SD3 service test");
        Path sd3 = stack.linkedModel("tiny-sd3", family.resolve("model"));
        ServiceProcess sd3Worker = stack.worker("e2e-worker-sd3", List.of(sd3), WORKER_ENVIRONMENT);
        try {
            org.awaitility.Awaitility.await("the gateway lists tiny-sd3").atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> get(gateway, "/v1/models").toString().contains("\"tiny-sd3\""));
            HttpResponse<String> refused = post(gateway, "{\"model\":\"tiny-sd3\",\"prompt\":\"x\","
                    + "\"scheduler\":\"ddim\"}");
            assertEquals(400, refused.statusCode(), refused.body());
            assertTrue(refused.body().contains("it takes euler"), refused.body());
            // The txt2img case of ../shared/parity/sd3.
            JobRequest job = JobRequest.builder("a red fox in a snowy forest at golden hour, highly detailed painting")
                    .negativePrompt("blurry, low quality, watermark").steps(12).guidanceScale(7.0).seed(42L)
                    .size(64, 64).noise("torch").model("tiny-sd3").build();
            String id = submit(gateway, job);
            List<GatewayClient.Event> all = events(gateway, id, null, 100);
            assertEquals("completed", all.getLast().name(), all.getLast().data().toString());
            assertEquals(12, all.stream().filter(e -> e.name().equals("progress")).count());
            int worst = greyLevelsApart(client(gateway).image(id, 0), family.resolve("refs/txt2img.png"));
            assertTrue(worst <= 2, "the service's picture is " + worst + " grey levels from diffusers'");
        } finally {
            sd3Worker.stop(Duration.ofSeconds(60));
        }
    }

    @Test
    void aWorkerServingAnImageUpscalerEnlargesPicturesAndLendsItToTheHiresFix() throws Exception {
        // A model id of its own for the toy model, so that only this worker (which has the upscaler) serves it.
        Path toy = stack.linkedModel("toy-esrgan", stack.toyModel());
        Path esrgan = stack.esrganModel();
        ServiceProcess upscalerWorker = stack.worker("e2e-worker-esrgan", List.of(toy, esrgan), WORKER_ENVIRONMENT);
        try {
            org.awaitility.Awaitility.await("the gateway lists esrgan").atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> get(gateway, "/v1/models").toString().contains("\"image-upscaler\""));
            byte[] rgb = new byte[24 * 16 * 3];
            for (int i = 0; i < rgb.length; i++) {
                rgb[i] = (byte) (i * 7 % 251);
            }
            byte[] low = new dev.easel.engine.image.RgbImage(24, 16, rgb).toPng(null, null);
            // No prompt: the picture alone.
            HttpResponse<String> accepted = post(gateway, "{\"model\":\"esrgan\",\"initImage\":\""
                    + java.util.Base64.getEncoder().encodeToString(low) + "\"}");
            assertEquals(202, accepted.statusCode(), accepted.body());
            String id = Json.read(accepted.body(), JsonNode.class).path("id").asText();
            JOBS.add(id);
            List<GatewayClient.Event> all = events(gateway, id, null, 100);
            assertEquals(List.of("queued", "started", "progress", "completed"), names(all));
            assertEquals(96, all.getLast().data().path("images").get(0).path("width").asInt());
            OrtRuntime runtime = new OrtRuntime(RuntimeOptions.defaults());
            try (Pipeline offline = Pipeline.load(esrgan, runtime, dev.easel.engine.adapter.AdapterLibrary.empty(),
                    Map.of())) {
                byte[] expected = offline.generate(GenerationRequest.builder("").initImage(low, 1).build(), s -> { },
                        () -> false).images().get(0).png();
                assertArrayEquals(expected, client(gateway).image(id, 0), "the worker's picture is the engine's");

                // The hires fix of the toy model on the same worker, enlarging its first pass with the upscaler.
                JobRequest hires = JobRequest.builder("a white circle on a black background").model("toy-esrgan")
                        .size(64, 64).steps(4).scheduler("euler").seed(21L)
                        .hires(new JobRequest.Hires(2.0, "esrgan", 4, 0.5)).build();
                String hiresId = submit(gateway, hires);
                List<GatewayClient.Event> passes = events(gateway, hiresId, null, 100);
                assertEquals("completed", passes.getLast().name(), passes.getLast().data().toString());
                ImageUpscaler upscaler = ((dev.easel.engine.pipeline.ImageUpscalePipeline) offline).upscaler();
                try (Pipeline toyPipeline = Pipeline.load(toy, runtime, dev.easel.engine.adapter.AdapterLibrary.empty(),
                        Map.of("esrgan", upscaler))) {
                    byte[] twoPasses = toyPipeline.generate(GenerationRequest.from(hires), s -> { }, () -> false)
                            .images().get(0).png();
                    assertArrayEquals(twoPasses, client(gateway).image(hiresId, 0));
                }
            }
        } finally {
            upscalerWorker.stop(Duration.ofSeconds(60));
        }
    }

    /**
     * The folder of {@code file} in ../shared; the test is skipped, saying so, when ../shared does not have it.
     */
    private static Path sharedFolder(String file, String test) {
        java.util.Optional<Path> found = dev.easel.engine.SharedData.file(file);
        String folder = "../shared/" + file.substring(0, file.lastIndexOf('/'));
        if (found.isEmpty()) {
            System.out.println("SKIPPED " + test + ": " + folder + " not found");
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(found.isPresent(), folder + " not found");
        return found.get().getParent();
    }

    /** The largest difference of one channel of one pixel between a PNG and a reference picture of the same size. */
    private static int greyLevelsApart(byte[] png, Path reference) throws IOException {
        java.awt.image.BufferedImage ours = javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(png));
        java.awt.image.BufferedImage theirs = javax.imageio.ImageIO.read(reference.toFile());
        assertEquals(theirs.getWidth(), ours.getWidth(), "width");
        assertEquals(theirs.getHeight(), ours.getHeight(), "height");
        int worst = 0;
        for (int y = 0; y < ours.getHeight(); y++) {
            for (int x = 0; x < ours.getWidth(); x++) {
                for (int shift = 0; shift <= 16; shift += 8) {
                    worst = Math.max(worst, Math.abs(((ours.getRGB(x, y) >> shift) & 0xff)
                            - ((theirs.getRGB(x, y) >> shift) & 0xff)));
                }
            }
        }
        return worst;
    }

    private static String base64Png(java.awt.image.BufferedImage image) throws java.io.IOException {
        java.io.ByteArrayOutputStream png = new java.io.ByteArrayOutputStream();
        javax.imageio.ImageIO.write(image, "png", png);
        return java.util.Base64.getEncoder().encodeToString(png.toByteArray());
    }

    @Test
    void lastEventIdReplaysExactlyWhatWasMissed() throws Exception {
        JobRequest withPreviews = JobRequest.builder("green square").size(64, 64).steps(8).guidanceScale(7.5)
                .scheduler("ddim").seed(3L).preview(true).previewEvery(4).build();
        String id = submit(gateway, withPreviews);
        List<GatewayClient.Event> firstThree = events(gateway, id, null, 3);
        assertEquals(3, firstThree.size());
        List<GatewayClient.Event> rest = events(gateway, id, firstThree.get(2).id(), 100);
        List<GatewayClient.Event> all = events(gateway, id, null, 100);
        List<String> joined = new ArrayList<>();
        firstThree.forEach(e -> joined.add(e.id()));
        rest.forEach(e -> joined.add(e.id()));
        assertEquals(all.stream().map(GatewayClient.Event::id).toList(), joined);
        assertEquals("completed", all.get(all.size() - 1).name());
        List<GatewayClient.Event> progress = all.stream().filter(e -> e.name().equals("progress")).toList();
        assertEquals(List.of(false, false, false, true, false, false, false, true),
                progress.stream().map(e -> e.data().has("preview")).toList(), "a preview every 4 steps");
    }

    @Test
    void cancellingAQueuedAndARunningJob() throws Exception {
        String running = submit(gateway, request("yellow stripes", 2048, 150, "euler", 1L));
        List<GatewayClient.Event> beginning = events(gateway, running, null, 3);
        assertEquals(List.of("queued", "started", "progress"), names(beginning));
        String queued = submit(gateway, request("pink circle", 64, 5, "euler", 2L));
        assertEquals("queued", get(gateway, "/v1/jobs/" + queued).path("status").asText());

        assertEquals(202, delete(queued));
        assertEquals(List.of("queued", "cancelled"), names(events(gateway, queued, null, 10)));
        assertEquals(202, delete(running));
        List<GatewayClient.Event> runningEvents = events(gateway, running, null, 1000);
        assertEquals("cancelled", runningEvents.get(runningEvents.size() - 1).name());
        assertFalse(names(runningEvents).contains("completed"));
        assertTrue(runningEvents.size() < 150, "stopped before the end: " + runningEvents.size() + " events");

        // The worker reaches the cancelled job after the running one stopped: it reports it cancelled again (the
        // gateway ignores that) and never starts it. Checked on the raw events topic, where nothing is filtered.
        String after = submit(gateway, request("white", 64, 2, "euler", 4L));
        assertEquals("completed", names(events(gateway, after, null, 100)).getLast());
        List<String> raw = rawEventTypes(queued);
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (raw.stream().filter("cancelled"::equals).count() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(200);
            raw = rawEventTypes(queued);
        }
        assertEquals(List.of("queued", "cancelled", "cancelled"), raw, "the worker saw the job and did not start it");
        assertEquals(409, delete(after), "a finished job cannot be cancelled");
    }

    private static int delete(String id) throws Exception {
        return client(gateway).send("DELETE", "/v1/jobs/" + id, null).statusCode();
    }

    @Test
    void aJobLongerThanItsLockIsRenewedAndDeliveredOnce() throws Exception {
        // The worker's job lock is 5 s; each step of this job takes at least 100 ms (EASEL_MIN_STEP_MS, whatever the
        // machine's speed), so its 80 steps outlast the lock and the job lives on renewals.
        Path paced = stack.linkedModel("toy-paced", stack.toyModel());
        ServiceProcess pacedWorker = stack.worker("e2e-worker-paced", List.of(paced), Map.of("EASEL_LOCK_MS", "5000",
                "EASEL_MIN_STEP_MS", "100"));
        try {
            JobRequest slow = JobRequest.builder("a red circle").model("toy-paced").size(64, 64).steps(80)
                    .scheduler("euler").seed(9L).build();
            String id = submit(gateway, slow);
            List<GatewayClient.Event> events = events(gateway, id, null, 1000);
            JsonNode completed = events.getLast().data();
            assertEquals("completed", events.getLast().name());
            assertTrue(completed.path("timings").path("engineMillis").asLong() > 5000,
                    "the job must outlast its lock: " + completed.path("timings"));
            assertEquals(1, names(events).stream().filter("started"::equals).count(), "started once");
            assertEquals(1, names(events).stream().filter("completed"::equals).count(), "completed once");
            String next = submit(gateway, request("blue", 64, 2, "euler", 1L).withModel("toy-paced"));
            assertEquals("completed", names(events(gateway, next, null, 100)).getLast(),
                    "the worker is still consuming");
        } finally {
            pacedWorker.stop(Duration.ofSeconds(60));
        }
    }

    /** Every event on the events topic for one job but progress, in topic order. */
    private static List<String> rawEvents(String jobId) {
        return eventsSince(Map.of()).stream().filter(r -> jobId.equals(r.key()) && !r.value().contains("\"progress\""))
                .map(org.apache.kafka.clients.consumer.ConsumerRecord::value).toList();
    }

    /** The types of every event on the events topic for one job, in topic order. */
    private static List<String> rawEventTypes(String jobId) {
        List<String> types = new ArrayList<>();
        for (org.apache.kafka.clients.consumer.ConsumerRecord<String, String> record : eventsSince(Map.of())) {
            if (jobId.equals(record.key())) {
                types.add(Json.read(record.value(), dev.easel.contracts.JobEvent.class).type());
            }
        }
        return types;
    }

    /** The events topic's records after the given per-partition offsets (all of them for missing partitions). */
    private static List<org.apache.kafka.clients.consumer.ConsumerRecord<String, String>> eventsSince(
            Map<Integer, Long> offsets) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka);
        List<org.apache.kafka.clients.consumer.ConsumerRecord<String, String>> records = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer =
                new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(Topics.EVENTS, Duration.ofSeconds(10)).stream()
                    .map(p -> new TopicPartition(Topics.EVENTS, p.partition())).toList();
            consumer.assign(partitions);
            Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
            for (TopicPartition partition : partitions) {
                consumer.seek(partition, offsets.getOrDefault(partition.partition(), 0L));
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (partitions.stream().anyMatch(p -> consumer.position(p) < ends.get(p)) && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
        }
        return records;
    }

    @Test
    void aSecondWorkerSharesTheQueueAndNoJobRunsTwice() throws Exception {
        // A worker joining the share group while jobs are queued and running: both take jobs, none runs twice.
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ids.add(submit(gateway, request("orange square", 512, 60, "euler", 20L + i)));
        }
        ServiceProcess second = stack.worker("e2e-worker-2", WORKER_ENVIRONMENT);
        try {
            for (int i = 0; i < 10; i++) {
                ids.add(submit(gateway, request("orange square", 512, 60, "euler", 30L + i)));
            }
            java.util.Set<String> workers = new java.util.HashSet<>();
            for (String id : ids) {
                assertEquals("completed", names(events(gateway, id, null, 1000)).getLast(), "job " + id);
                workers.add(get(gateway, "/v1/jobs/" + id).path("workerId").asText());
            }
            assertEquals(java.util.Set.of("e2e-worker", "e2e-worker-2"), workers, "both workers took jobs");
            for (String id : ids) {
                assertEquals(1, rawEventTypes(id).stream().filter("started"::equals).count(),
                        "job " + id + " started once: " + rawEvents(id));
            }
        } finally {
            second.stop(Duration.ofSeconds(60));
        }
        String after = submit(gateway, request("orange", 64, 2, "euler", 1L));
        assertEquals("completed", names(events(gateway, after, null, 100)).getLast(), "the first worker carries on alone");
    }

    @Test
    void everyInvalidFieldIsAProblemAndPublishesNothing() throws Exception {
        Map<String, Long> before = endOffsets();
        Map<Integer, Long> eventsBefore = eventEndOffsets();
        Map<String, String> invalid = Map.of(
                "width", "{\"prompt\":\"x\",\"width\":100}",
                "height", "{\"prompt\":\"x\",\"height\":4096}",
                "steps", "{\"prompt\":\"x\",\"steps\":0}",
                "guidanceScale", "{\"prompt\":\"x\",\"guidanceScale\":-1}",
                "numImages", "{\"prompt\":\"x\",\"numImages\":99}",
                "scheduler", "{\"prompt\":\"x\",\"scheduler\":\"turbo\"}",
                "karras", "{\"prompt\":\"x\",\"scheduler\":\"ddim\",\"karras\":true}",
                "strength", "{\"prompt\":\"x\",\"initImage\":\"iVBORw0KGgo=\",\"strength\":0}",
                "prompt", "{\"negativePrompt\":\"x\"}",
                "timestepSpacing", "{\"prompt\":\"x\",\"timestepSpacing\":\"sideways\"}");
        // The requests a first hostile try got accepted with 202 (issue 7): wrong types, strength alone, a non-image.
        String text = java.util.Base64.getEncoder().encodeToString("not a picture".getBytes());
        Map<String, String> hostile = Map.of(
                "prompt", "{\"prompt\":12}",
                "steps", "{\"prompt\":\"x\",\"steps\":10.5}",
                "strength", "{\"prompt\":\"x\",\"strength\":0.5}",
                "initImage", "{\"prompt\":\"x\",\"initImage\":\"" + text + "\",\"strength\":0.5}",
                "model", "{\"prompt\":\"x\",\"model\":\"../../etc/passwd\"}",
                "seeds", "{\"prompt\":\"x\",\"seeds\":[1]}",
                "mask", "{\"prompt\":\"x\",\"mask\":\"iVBORw0KGgo=\"}",
                "promptSyntax", "{\"prompt\":\"x\",\"promptSyntax\":\"compel\"}");
        Map<String, String> all = new java.util.HashMap<>(invalid);
        hostile.forEach((field, body) -> all.put(field + " (hostile)", body));
        for (Map.Entry<String, String> entry : all.entrySet()) {
            HttpResponse<String> response = post(gateway, entry.getValue());
            assertEquals(400, response.statusCode(), entry.getKey());
            assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("application/problem+json"));
            JsonNode problem = Json.MAPPER.readTree(response.body());
            assertEquals(entry.getKey().replace(" (hostile)", ""), problem.path("errors").get(0).path("field").asText(),
                    response.body());
        }
        assertEquals(before.get(Topics.jobs("toy")), endOffsets().get(Topics.jobs("toy")), "no job was published");
        // Workers may still report on earlier jobs meanwhile; no event may belong to a job this test did not see.
        for (var record : eventsSince(eventsBefore)) {
            assertTrue(JOBS.contains(record.key()), "an event for an unknown job: " + record.value());
        }
    }

    /** One request of the hostile-input suite and the status it must get. */
    private record Hostile(String what, String method, String path, String contentType, String body, int status) {
    }

    @Test
    void theHostileInputSuiteGetsProblemsAndLeavesTheGatewayHealthy() throws Exception {
        Map<String, Long> before = endOffsets();
        String deep = "[".repeat(5000) + "]".repeat(5000);
        List<Hostile> suite = List.of(
                new Hostile("malformed JSON", "POST", "/v1/jobs", "application/json", "{\"prompt\":", 400),
                new Hostile("empty body", "POST", "/v1/jobs", "application/json", "", 400),
                new Hostile("a JSON array", "POST", "/v1/jobs", "application/json", "[1,2]", 400),
                new Hostile("a JSON string", "POST", "/v1/jobs", "application/json", "\"prompt\"", 400),
                new Hostile("null", "POST", "/v1/jobs", "application/json", "null", 400),
                new Hostile("nesting 5000 deep", "POST", "/v1/jobs", "application/json", "{\"prompt\":" + deep + "}",
                        400),
                new Hostile("a number too big for steps", "POST", "/v1/jobs", "application/json",
                        "{\"prompt\":\"x\",\"steps\":1e400}", 400),
                new Hostile("steps beyond int", "POST", "/v1/jobs", "application/json",
                        "{\"prompt\":\"x\",\"steps\":99999999999}", 400),
                new Hostile("a seed beyond long", "POST", "/v1/jobs", "application/json",
                        "{\"prompt\":\"x\",\"seed\":123456789012345678901234567890}", 400),
                new Hostile("NaN guidance", "POST", "/v1/jobs", "application/json",
                        "{\"prompt\":\"x\",\"guidanceScale\":NaN}", 400),
                new Hostile("a duplicate field", "POST", "/v1/jobs", "application/json",
                        "{\"prompt\":\"x\",\"prompt\":\"y\"}", 400),
                new Hostile("a lone surrogate in the prompt", "POST", "/v1/jobs", "application/json",
                        "{\"prompt\":\"a \\ud800 b\"}", 400),
                new Hostile("a NUL in the prompt", "POST", "/v1/jobs", "application/json",
                        "{\"prompt\":\"a \\u0000 b\"}", 400),
                new Hostile("an escape sequence in the negative prompt", "POST", "/v1/jobs", "application/json",
                        "{\"prompt\":\"x\",\"negativePrompt\":\"\\u001b[31m\"}", 400),
                new Hostile("a 4001-character prompt of emoji halves", "POST", "/v1/jobs", "application/json",
                        "{\"prompt\":\"" + "\uD83D\uDE00".repeat(2001) + "\"}", 400),
                new Hostile("text/plain", "POST", "/v1/jobs", "text/plain", "prompt=x", 415),
                new Hostile("form data", "POST", "/v1/jobs", "application/x-www-form-urlencoded", "prompt=x", 415),
                new Hostile("a 30 MB body", "POST", "/v1/jobs", "application/json",
                        "{\"prompt\":\"" + "x".repeat(30 << 20) + "\"}", 413),
                new Hostile("a webhook to cloud metadata", "POST", "/v1/jobs", "application/json",
                        "{\"prompt\":\"x\",\"webhook\":{\"url\":\"http://169.254.169.254/\"}}", 400),
                new Hostile("a traversal in the job id", "GET", "/v1/jobs/..%2F..%2Fetc%2Fpasswd", null, null, 404),
                new Hostile("a traversal in the image index", "GET", "/v1/jobs/x/images/..", null, null, 404),
                new Hostile("a cursor that is not one", "GET", "/v1/jobs?cursor=%27%20OR%201=1", null, null, 400),
                new Hostile("a limit that is not a number", "GET", "/v1/jobs?limit=ten", null, null, 400),
                new Hostile("an unknown route", "GET", "/v1/admin", null, null, 404),
                new Hostile("an unsupported method", "PUT", "/v1/jobs", "application/json", "{}", 405));
        List<String> failures = new ArrayList<>();
        for (Hostile hostile : suite) {
            HttpResponse<String> response = sendRaw(hostile);
            String type = response.headers().firstValue("Content-Type").orElse("");
            if (response.statusCode() != hostile.status() || !type.startsWith("application/problem+json")
                    || response.body().contains("Exception") || response.body().contains("\tat ")) {
                failures.add(hostile.what() + ": " + response.statusCode() + " " + type + " "
                        + response.body().substring(0, Math.min(200, response.body().length())));
            }
        }
        assertEquals(List.of(), failures, "each of the " + suite.size() + " hostile requests");
        assertEquals(before.get(Topics.jobs("toy")), endOffsets().get(Topics.jobs("toy")), "nothing was queued");
        assertEquals("UP", get(gateway, "/q/health/ready").path("status").asText(), "the gateway is still healthy");
        String after = submit(gateway, request("after the storm", 64, 2, "euler", 40L));
        assertEquals("completed", names(events(gateway, after, null, 100)).getLast());
    }

    private static HttpResponse<String> sendRaw(Hostile hostile) throws Exception {
        return client(gateway).sendTyped(hostile.method(), hostile.path(), hostile.contentType(), hostile.body());
    }

    private static Map<Integer, Long> eventEndOffsets() {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka);
        try (KafkaConsumer<String, String> consumer =
                new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(Topics.EVENTS, Duration.ofSeconds(10)).stream()
                    .map(p -> new TopicPartition(Topics.EVENTS, p.partition())).toList();
            Map<Integer, Long> ends = new java.util.HashMap<>();
            consumer.endOffsets(partitions).forEach((p, offset) -> ends.put(p.partition(), offset));
            return ends;
        }
    }

    private static Map<String, Long> endOffsets() {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka);
        try (KafkaConsumer<String, String> consumer =
                new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
            Map<String, Long> totals = new java.util.TreeMap<>();
            for (String topic : List.of(Topics.jobs("toy"), Topics.EVENTS)) {
                List<TopicPartition> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(10)).stream()
                        .map(p -> new TopicPartition(topic, p.partition())).toList();
                totals.put(topic, consumer.endOffsets(partitions).values().stream().mapToLong(Long::longValue).sum());
            }
            return totals;
        }
    }

    @Test
    void keysTenantsAndLimits() throws Exception {
        // No key, a malformed header, an unknown key: 401 problem+json with a Bearer challenge, on every /v1 route.
        for (String authorization : new String[] {null, "Basic abc", "Bearer esk_not-a-key"}) {
            for (String[] route : new String[][] {{"GET", "/v1/models"}, {"GET", "/v1/workers"},
                    {"POST", "/v1/jobs"}, {"GET", "/v1/jobs/some-id"}}) {
                HttpResponse<String> response = GatewayClient.send(gateway, route[0], route[1], authorization,
                        route[0].equals("POST") ? Json.write(request("a key-less job", 64, 2, "euler", 1L)) : null);
                assertEquals(401, response.statusCode(), route[1] + " with " + authorization);
                assertTrue(response.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer realm="),
                        response.headers().toString());
                assertEquals("application/problem+json", response.headers().firstValue("Content-Type").orElse(""));
            }
        }

        // Another tenant cannot see, follow, download or cancel e2e's jobs: 404, as for a job that does not exist.
        String done = submit(gateway, request("a private picture", 64, 2, "euler", 3L));
        assertEquals("completed", names(events(gateway, done, null, 100)).getLast());
        String running = submit(gateway, request("a private long picture", 2048, 150, "euler", 4L));
        events(gateway, running, null, 3);
        GatewayClient other = GatewayClient.withNewKey(gateway, kafka, "other");
        for (String id : List.of(done, running)) {
            for (String[] route : new String[][] {{"GET", ""}, {"GET", "/events"}, {"GET", "/images/0"},
                    {"DELETE", ""}}) {
                HttpResponse<String> response = other.send(route[0], "/v1/jobs/" + id + route[1], null);
                assertEquals(404, response.statusCode(), route[0] + " " + route[1] + " of another tenant's job");
                // The id is random hex and may hold "e2e" itself.
                assertFalse(response.body().replace(id, "").contains("e2e"), "nothing about the owner: "
                        + response.body());
            }
        }
        assertEquals("running", get(gateway, "/v1/jobs/" + running).path("status").asText(), "not cancelled by other");
        assertEquals(202, client(gateway).send("DELETE", "/v1/jobs/" + running, null).statusCode());
        String own = other.submit(request("other's own job", 64, 2, "euler", 5L));
        assertEquals("completed", names(other.allEvents(own)).getLast(), "other's own job works");

        // The submit rate of a key: 2 per minute, so the third is 429 with Retry-After and the limit in the body.
        GatewayClient slow = GatewayClient.withNewKey(gateway, kafka, "rate-limited", 2, 100);
        slow.submit(request("one", 64, 2, "euler", 6L));
        slow.submit(request("two", 64, 2, "euler", 7L));
        HttpResponse<String> third = slow.post(request("three", 64, 2, "euler", 8L));
        assertEquals(429, third.statusCode(), third.body());
        long retryAfter = Long.parseLong(third.headers().firstValue("Retry-After").orElseThrow());
        assertTrue(retryAfter >= 1 && retryAfter <= 30, "Retry-After " + retryAfter);
        assertEquals(2, Json.MAPPER.readTree(third.body()).path("limits").path("ratePerMinute").asInt(), third.body());

        // Queued plus running jobs of a key: at most 1, so a second while the first runs is 429.
        GatewayClient single = GatewayClient.withNewKey(gateway, kafka, "one-at-a-time", 100, 1);
        String first = single.submit(request("a long one", 2048, 150, "euler", 9L));
        HttpResponse<String> second = single.post(request("and another", 64, 2, "euler", 10L));
        assertEquals(429, second.statusCode(), second.body());
        assertTrue(second.headers().firstValue("Retry-After").isPresent());
        assertEquals(1, Json.MAPPER.readTree(second.body()).path("limits").path("maxActive").asInt());
        assertEquals(202, single.send("DELETE", "/v1/jobs/" + first, null).statusCode());
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30))
                .until(() -> single.post(request("after the cancel", 64, 2, "euler", 11L)).statusCode() == 202);

        // A revoked key stops working on the gateways that read easel.api-keys.
        ApiKeyAdmin admin = new ApiKeyAdmin(kafka);
        ApiKeyAdmin.Created revoked = admin.create("short-lived", null, null);
        ApiKeyAdmin.awaitAccepted(gateway, revoked.key(), Duration.ofSeconds(30));
        assertTrue(admin.revoke(revoked.id()));
        assertTrue(admin.list().stream().noneMatch(k -> k.id().equals(revoked.id())), "gone from keys list");
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> GatewayClient.send(gateway, "GET",
                "/v1/models", "Bearer " + revoked.key(), null).statusCode() == 401);
    }

    /** A sample's value in Prometheus text, 0 when absent. */
    private static double sample(String metrics, String series) {
        return metrics.lines().filter(line -> line.startsWith(series + " ")).findFirst()
                .map(line -> Double.parseDouble(line.substring(series.length() + 1).strip())).orElse(0.0);
    }

    private static String scrape(String url) throws Exception {
        HttpResponse<String> response = java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(URI.create(url)).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), url);
        return response.body();
    }

    @Test
    void theGatewayAndTheWorkerExportMetricsThatMoveWithAJob() throws Exception {
        String workerMetrics = worker.address().replace("/health/ready", "/metrics");
        String gatewayBefore = scrape(gateway + "/q/metrics");
        String workerBefore = scrape(workerMetrics);
        String id = submit(gateway, request("a counted circle", 64, 4, "euler", 50L));
        assertEquals("completed", names(events(gateway, id, null, 100)).getLast());
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> sample(scrape(gateway + "/q/metrics"),
                "easel_jobs_ended_total{model=\"toy\",status=\"completed\"}")
                > sample(gatewayBefore, "easel_jobs_ended_total{model=\"toy\",status=\"completed\"}"));
        String gatewayAfter = scrape(gateway + "/q/metrics");
        String workerAfter = scrape(workerMetrics);
        assertTrue(sample(gatewayAfter, "easel_jobs_submitted_total{model=\"toy\"}")
                > sample(gatewayBefore, "easel_jobs_submitted_total{model=\"toy\"}"), "submitted moved");
        assertTrue(sample(gatewayAfter, "easel_job_end_to_end_seconds_count{model=\"toy\"}")
                > sample(gatewayBefore, "easel_job_end_to_end_seconds_count{model=\"toy\"}"), "end to end timed");
        assertTrue(gatewayAfter.contains("easel_queue_depth{model=\"toy\"}"), "queue depth per model");
        assertTrue(sample(workerAfter, "easel_worker_jobs_total{outcome=\"completed\"}")
                > sample(workerBefore, "easel_worker_jobs_total{outcome=\"completed\"}"), "the worker counted it");
        assertTrue(sample(workerAfter, "easel_worker_step_seconds_count")
                >= sample(workerBefore, "easel_worker_step_seconds_count") + 4, "each of its 4 steps timed");
        assertTrue(workerAfter.contains("easel_worker_info{execution_provider=\"CPUExecutionProvider\""),
                "the execution provider");
        assertEquals(1.0, sample(workerAfter, "easel_worker_devices"));
    }

    /** One POST a webhook receiver got. */
    private record Delivery(String event, int attempt, String signature, String body) {
    }

    @Test
    void webhooksAreSignedDeliveredInOrderAndRetried() throws Exception {
        List<Delivery> deliveries = java.util.Collections.synchronizedList(new ArrayList<>());
        com.sun.net.httpserver.HttpServer receiver = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        receiver.createContext("/hook", exchange -> {
            Delivery delivery = new Delivery(exchange.getRequestHeaders().getFirst("Easel-Event"),
                    Integer.parseInt(exchange.getRequestHeaders().getFirst("Easel-Delivery-Attempt")),
                    exchange.getRequestHeaders().getFirst("Easel-Signature"),
                    new String(exchange.getRequestBody().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
            deliveries.add(delivery);
            // The first delivery fails, as a receiver that is briefly down would: it must come again.
            exchange.sendResponseHeaders(deliveries.size() == 1 ? 503 : 204, -1);
            exchange.close();
        });
        receiver.start();
        try {
            ApiKeyAdmin.Created hooks = new ApiKeyAdmin(kafka).create("hooks", null, null);
            ApiKeyAdmin.awaitAccepted(gateway, hooks.key(), Duration.ofSeconds(30));
            GatewayClient client = new GatewayClient(gateway, hooks.key());
            String url = "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook";
            String id = client.submit(JobRequest.builder("a hooked job").size(64, 64).steps(3).guidanceScale(7.5)
                    .scheduler("euler").seed(30L)
                    .webhook(new JobRequest.Webhook(url, List.of("started", "completed"))).build());
            assertEquals("completed", names(client.allEvents(id)).getLast());
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> deliveries.size() >= 3);
            assertEquals(List.of("started/1", "started/2", "completed/1"), deliveries.stream()
                    .map(d -> d.event() + "/" + d.attempt()).toList(), "in order, the failed one retried");
            for (Delivery delivery : deliveries) {
                String[] parts = delivery.signature().split(",");
                String t = parts[0].substring(2);
                javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
                mac.init(new javax.crypto.spec.SecretKeySpec(hooks.webhookSecret().getBytes(), "HmacSHA256"));
                String expected = java.util.HexFormat.of().formatHex(mac.doFinal((t + "." + delivery.body()).getBytes(
                        java.nio.charset.StandardCharsets.UTF_8)));
                assertEquals("v1=" + expected, parts[1], "signed with the key's webhook secret");
                assertTrue(Math.abs(System.currentTimeMillis() / 1000 - Long.parseLong(t)) < 120, "a fresh timestamp");
                JsonNode event = Json.MAPPER.readTree(delivery.body());
                assertEquals(delivery.event(), event.path("type").asText());
                assertEquals(id, event.path("jobId").asText());
            }
            // A webhook to a private or link-local address is refused at submit on a gateway that allows loopback only.
            for (String refused : List.of("http://10.0.0.1/hook", "http://169.254.169.254/latest/meta-data")) {
                HttpResponse<String> response = client.post(JobRequest.builder("x").size(64, 64).steps(2)
                        .guidanceScale(7.5).scheduler("euler").seed(1L).webhook(new JobRequest.Webhook(refused, null))
                        .build());
                assertEquals(400, response.statusCode(), response.body());
                assertTrue(response.body().contains("webhook.url"), response.body());
            }
        } finally {
            receiver.stop(0);
        }
    }

    @Test
    void stateIsTheSameOnASecondGatewayAndAfterARestart() throws Exception {
        String done = submit(gateway, request("black square on a white background", 64, 4, "unipc", 8L));
        events(gateway, done, null, 100);
        List<String> jobs = List.copyOf(JOBS);
        Map<String, String> before = new java.util.HashMap<>();
        for (String id : jobs) {
            before.put(id, comparable(get(gateway, "/v1/jobs/" + id)));
        }
        ServiceProcess second = stack.gateway("e2e-gateway-2", Map.of());
        for (String id : jobs) {
            assertEquals(before.get(id), comparable(get(second.address(), "/v1/jobs/" + id)), "job " + id + " on gateway 2");
        }
        // A submit whose answer was lost, retried with its Idempotency-Key on the other replica: the same job.
        String body = Json.write(request("submitted once", 64, 2, "euler", 21L));
        HttpResponse<String> original = client(gateway).send("POST", "/v1/jobs", body,
                Map.of("Idempotency-Key", "e2e-1"));
        assertEquals(202, original.statusCode(), original.body());
        String once = Json.MAPPER.readTree(original.body()).path("id").asText();
        JOBS.add(once);
        HttpResponse<String> retried = client(second.address()).send("POST", "/v1/jobs", body,
                Map.of("Idempotency-Key", "e2e-1"));
        assertEquals(200, retried.statusCode(), retried.body());
        assertEquals(once, Json.MAPPER.readTree(retried.body()).path("id").asText(), "the retry got the first job");
        assertEquals(422, client(second.address()).send("POST", "/v1/jobs", Json.write(request("another", 64, 2,
                "euler", 22L)), Map.of("Idempotency-Key", "e2e-1")).statusCode(), "the same key for another body");
        assertEquals("completed", names(events(gateway, once, null, 100)).getLast());
        ServiceProcess first = firstGateway;
        first.stop(Duration.ofSeconds(20));
        first.start(START);
        for (String id : jobs) {
            assertEquals(before.get(id), comparable(get(gateway, "/v1/jobs/" + id)), "job " + id + " after a restart");
        }
        assertEquals(names(events(second.address(), done, null, 100)), names(events(gateway, done, null, 100)));

        // A gateway that keeps no finished job in memory answers from the job's final record in the bucket.
        ServiceProcess forgetful = stack.gateway("e2e-gateway-forgetful", Map.of("easel.jobs.finished-max", "0"));
        assertEquals(before.get(done), comparable(get(forgetful.address(), "/v1/jobs/" + done)),
                "a finished job read back from {tenant}/{jobId}/job.json");
        assertEquals(List.of("queued", "started", "completed"), names(events(forgetful.address(), done, null, 100)));
        // The jobs list of a gateway that holds no finished job comes from the bucket: every job, newest first.
        List<String> listed = new ArrayList<>();
        String cursor = null;
        do {
            JsonNode page = get(forgetful.address(), "/v1/jobs?limit=3&status=completed"
                    + (cursor == null ? "" : "&cursor=" + cursor));
            page.path("jobs").forEach(job -> listed.add(job.path("id").asText()));
            cursor = page.path("nextCursor").isTextual() ? page.path("nextCursor").asText() : null;
        } while (cursor != null);
        assertTrue(listed.contains(done), "the finished job is listed: " + listed);
        assertEquals(listed.stream().sorted().toList(), listed, "newest first (ids sort so)");
        assertEquals(listed.stream().distinct().count(), listed.size(), "no job twice across pages");
        assertEquals(404, client(forgetful.address()).send("GET", "/v1/jobs/no-such-job", null).statusCode());
    }

    @Test
    void aRestartedGatewayRestoresLiveJobsAndResumesTheirStreamsFromTheirPartition() throws Exception {
        // 12 images of 150 steps: some 20 s here, so the job outlives the gateway's restart.
        JobRequest slow = JobRequest.builder("a slow green circle").size(2048, 2048).steps(150).guidanceScale(7.5)
                .scheduler("euler").seed(12L).numImages(12).build();
        String id = submit(gateway, slow);
        List<GatewayClient.Event> beforeRestart = events(gateway, id, null, 5);
        assertEquals(List.of("queued", "started", "progress", "progress", "progress"), names(beforeRestart));
        firstGateway.stop(Duration.ofSeconds(20));
        firstGateway.start(START);
        String log = java.nio.file.Files.readString(firstGateway.logFile());
        assertTrue(log.contains("reading easel.events from {"), "resumed from the job-state checkpoint, not offset 0: "
                + log.lines().filter(l -> l.contains("restored")).toList());
        assertEquals("running", get(gateway, "/v1/jobs/" + id).path("status").asText(), "restored while it runs");

        // The progress the restarted gateway never saw comes from the job's partition of the events topic.
        List<GatewayClient.Event> resumed = events(gateway, id, beforeRestart.getLast().id(), 5000);
        List<GatewayClient.Event> joined = new ArrayList<>(beforeRestart);
        joined.addAll(resumed);
        List<String> steps = joined.stream().filter(e -> e.name().equals("progress"))
                .map(e -> e.data().path("imageIndex").asInt() + "/" + e.data().path("step").asInt()).toList();
        List<String> expected = new ArrayList<>();
        for (int image = 0; image < 12; image++) {
            for (int step = 1; step <= 150; step++) {
                expected.add(image + "/" + step);
            }
        }
        assertEquals(expected, steps, "every step of every image exactly once");
        assertEquals("completed", joined.getLast().name());
        assertEquals(joined.stream().map(GatewayClient.Event::id).distinct().count(), joined.size(), "no event twice");

        List<GatewayClient.Event> all = events(gateway, id, null, 5000);
        assertEquals(joined.stream().map(GatewayClient.Event::id).toList(),
                all.stream().map(GatewayClient.Event::id).toList(), "the whole stream again, from the job's first event");
    }

    /** A job's status without what legitimately differs between answers (presigned URL signatures, queue time). */
    private static String comparable(JsonNode status) throws IOException {
        com.fasterxml.jackson.databind.node.ObjectNode copy = status.deepCopy();
        copy.remove("queuePosition");
        if (copy.has("images")) {
            for (JsonNode image : copy.path("images")) {
                ((com.fasterxml.jackson.databind.node.ObjectNode) image).remove("url");
            }
        }
        return Json.MAPPER.writeValueAsString(copy);
    }
}
