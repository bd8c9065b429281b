package dev.easel.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.easel.contracts.Topics;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBackend;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * deploy/k8s, deploy/compose and deploy/images read as a cluster and a container engine would read them, and checked
 * against each other and against the code: every manifest parses into its typed Kubernetes object (Strimzi's and
 * KEDA's custom resources into generic ones), every reference resolves, ports and paths agree with the services'
 * configuration, and the topics are contracts' with the policies the gateway gives them. Nothing here applies them
 * to a cluster: these machines have no container engine (deploy/README.md says what that leaves untested).
 */
class ManifestsTest {
    private static final Path ROOT = Path.of(System.getProperty("easel.root", "../.."));
    private static final KubernetesSerialization KUBERNETES = new KubernetesSerialization();
    private static final List<HasMetadata> RESOURCES = new ArrayList<>();
    private static Properties gatewaySettings;
    /** The Kafka the build runs, broker and clients: every test here ran against it. */
    private static String buildKafkaVersion;

    @BeforeAll
    static void read() throws IOException {
        try (Stream<Path> files = Files.list(ROOT.resolve("deploy/k8s"))) {
            for (Path file : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
                for (String document : Files.readString(file).split("(?m)^---\\s*$")) {
                    if (document.lines().anyMatch(l -> l.startsWith("kind:"))) {
                        RESOURCES.add(KUBERNETES.unmarshal(document, HasMetadata.class));
                    }
                }
            }
        }
        Matcher kafkaVersion = Pattern.compile("<kafka\\.version>([^<]+)</kafka\\.version>")
                .matcher(Files.readString(ROOT.resolve("pom.xml")));
        assertTrue(kafkaVersion.find(), "pom.xml sets kafka.version");
        buildKafkaVersion = kafkaVersion.group(1);
        gatewaySettings = new Properties();
        try (InputStream in = Files.newInputStream(ROOT.resolve("api-gateway/src/main/resources/application.properties"))) {
            gatewaySettings.load(in);
        }
    }

    @Test
    void everyManifestIsItsTypedObjectInTheEaselNamespace() {
        assertTrue(RESOURCES.size() >= 20, "resources read: " + RESOURCES.size());
        Map<String, Class<?>> typed = Map.of("Deployment", Deployment.class, "Service", Service.class,
                "ConfigMap", ConfigMap.class, "Secret", Secret.class, "Ingress", Ingress.class,
                "PersistentVolumeClaim", PersistentVolumeClaim.class, "Namespace", Namespace.class);
        for (HasMetadata resource : RESOURCES) {
            Class<?> expected = typed.getOrDefault(resource.getKind(), GenericKubernetesResource.class);
            assertTrue(expected.isInstance(resource), resource.getKind() + " " + name(resource) + " is a "
                    + resource.getClass().getSimpleName());
            if (!(resource instanceof Namespace)) {
                assertEquals("easel", resource.getMetadata().getNamespace(), name(resource) + "'s namespace");
            }
        }
        assertEquals(1, all(Namespace.class).stream().filter(n -> name(n).equals("easel")).count());
    }

    @Test
    void servicesSelectPodsAndEveryReferenceResolves() {
        Set<String> configMaps = names(ConfigMap.class);
        Set<String> secrets = names(Secret.class);
        Set<String> claims = names(PersistentVolumeClaim.class);
        for (Service service : all(Service.class)) {
            Deployment target = all(Deployment.class).stream().filter(d -> d.getSpec().getTemplate().getMetadata()
                    .getLabels().entrySet().containsAll(service.getSpec().getSelector().entrySet())).findFirst()
                    .orElseThrow(() -> new AssertionError("service " + name(service) + " selects no Deployment"));
            for (var port : service.getSpec().getPorts()) {
                String targetPort = port.getTargetPort().getStrVal() != null ? port.getTargetPort().getStrVal()
                        : String.valueOf(port.getTargetPort().getIntVal());
                assertTrue(containerPorts(target.getSpec().getTemplate().getSpec()).stream().anyMatch(p ->
                        targetPort.equals(p.getName()) || targetPort.equals(String.valueOf(p.getContainerPort()))),
                        "service " + name(service) + " targets port " + targetPort + " that " + name(target) + " lacks");
            }
        }
        for (Deployment deployment : all(Deployment.class)) {
            PodSpec pod = deployment.getSpec().getTemplate().getSpec();
            assertEquals(deployment.getSpec().getSelector().getMatchLabels(),
                    deployment.getSpec().getTemplate().getMetadata().getLabels(), name(deployment) + " selects its pods");
            for (Container container : pod.getContainers()) {
                for (var from : container.getEnvFrom()) {
                    if (from.getConfigMapRef() != null) {
                        assertTrue(configMaps.contains(from.getConfigMapRef().getName()), "config map "
                                + from.getConfigMapRef().getName() + " of " + name(deployment));
                    }
                    if (from.getSecretRef() != null) {
                        assertTrue(secrets.contains(from.getSecretRef().getName()), "secret of " + name(deployment));
                    }
                }
                for (EnvVar env : container.getEnv()) {
                    if (env.getValueFrom() != null && env.getValueFrom().getSecretKeyRef() != null) {
                        String secret = env.getValueFrom().getSecretKeyRef().getName();
                        String key = env.getValueFrom().getSecretKeyRef().getKey();
                        Secret found = all(Secret.class).stream().filter(s -> name(s).equals(secret)).findFirst()
                                .orElseThrow(() -> new AssertionError("secret " + secret + " of " + name(deployment)));
                        assertTrue(found.getStringData().containsKey(key), "secret " + secret + " has no " + key);
                    }
                }
            }
            pod.getVolumes().stream().filter(v -> v.getPersistentVolumeClaim() != null).forEach(v -> assertTrue(
                    claims.contains(v.getPersistentVolumeClaim().getClaimName()), "claim of " + name(deployment)));
        }
        for (Ingress ingress : all(Ingress.class)) {
            for (var rule : ingress.getSpec().getRules()) {
                for (var path : rule.getHttp().getPaths()) {
                    IngressBackend backend = path.getBackend();
                    Service service = all(Service.class).stream().filter(s -> name(s).equals(
                            backend.getService().getName())).findFirst().orElseThrow(() -> new AssertionError(
                            "ingress " + rule.getHost() + " routes to no service " + backend.getService().getName()));
                    assertTrue(service.getSpec().getPorts().stream().anyMatch(p -> p.getName().equals(
                            backend.getService().getPort().getName())), "ingress port of " + rule.getHost());
                }
            }
        }
    }

    @Test
    void theGatewayMatchesItsConfiguration() {
        Container gateway = container("easel-gateway");
        int port = Integer.parseInt(gatewaySettings.getProperty("quarkus.http.port"));
        assertEquals(port, gateway.getPorts().get(0).getContainerPort(), "the gateway's quarkus.http.port");
        assertEquals("/q/health/ready", gateway.getReadinessProbe().getHttpGet().getPath());
        assertEquals("/q/health/live", gateway.getLivenessProbe().getHttpGet().getPath());
        Map<String, String> config = configMap("easel");
        assertTrue(config.containsKey("KAFKA_BOOTSTRAP_SERVERS"), "the gateway's kafka.bootstrap.servers");
        for (String key : List.of("EASEL_S3_ENDPOINT", "EASEL_S3_PUBLIC_ENDPOINT", "EASEL_S3_BUCKET")) {
            String property = key.toLowerCase().replaceFirst("^easel_s3_", "easel.s3.").replace('_', '-');
            assertNotNull(gatewaySettings.getProperty(property), key + " sets the gateway's " + property);
        }
        // The image the Deployment names is the one gateway.Dockerfile says to build.
        assertTrue(dockerfile("gateway.Dockerfile").contains("-t " + gateway.getImage() + " "), gateway.getImage());
        // The image runs the JVM as the local stack and the benchmarks do.
        String entrypoint = dockerfile("gateway.Dockerfile").lines().filter(line -> line.startsWith("ENTRYPOINT"))
                .findFirst().orElseThrow();
        for (String option : LocalStack.GATEWAY_JVM_OPTIONS) {
            assertTrue(entrypoint.contains("\"" + option + "\""), "the gateway image's JVM runs with " + option);
        }
    }

    @Test
    void theWorkersHaveAGpuAWarmUpAndTimeToFinishTheirJob() throws IOException {
        Deployment worker = deployment("easel-worker");
        Container container = container("easel-worker");
        Map<String, String> env = new HashMap<>();
        container.getEnv().stream().filter(e -> e.getValue() != null).forEach(e -> env.put(e.getName(), e.getValue()));
        assertEquals("1", container.getResources().getLimits().get("nvidia.com/gpu").getAmount());
        assertEquals(env.get("EASEL_WORKER_DEVICES"), container.getResources().getLimits().get("nvidia.com/gpu")
                .getAmount(), "one device per GPU");
        int healthPort = Integer.parseInt(env.get("EASEL_HEALTH_PORT"));
        assertEquals(healthPort, container.getPorts().get(0).getContainerPort());
        assertEquals("/health/ready", container.getStartupProbe().getHttpGet().getPath(), "ready after warm-up");
        assertEquals("/health/ready", container.getReadinessProbe().getHttpGet().getPath());
        assertEquals("/health/live", container.getLivenessProbe().getHttpGet().getPath());
        long drainMillis = Long.parseLong(env.get("EASEL_DRAIN_MS"));
        assertTrue(worker.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds() * 1000 > drainMillis,
                "the grace period outlasts the drain");
        String workerSource = workerSettingsSource();
        for (String name : env.keySet()) {
            assertTrue(workerSource.contains("\"" + name + "\""), name + " is a setting the worker reads");
        }
        assertTrue(dockerfile("worker-gpu.Dockerfile").contains("-t " + container.getImage() + " "));
        assertTrue(dockerfile("worker-gpu.Dockerfile").contains("FROM nvidia/cuda:12.")
                && dockerfile("worker-gpu.Dockerfile").contains("cudnn"), "CUDA 12 with cuDNN");
        String model = Path.of(env.get("EASEL_MODEL_DIR")).getFileName().toString();
        assertTrue(topics().containsKey(Topics.jobs(model)), "the queue of the worker's model " + model);
    }

    @Test
    void theTopicsAreContractsWithTheGatewaysPolicies() {
        Map<String, JsonNode> topics = topics();
        for (String topic : List.of(Topics.EVENTS, Topics.JOB_STATE, Topics.WORKERS, Topics.API_KEYS,
                Topics.IDEMPOTENCY, Topics.CONTROL, Topics.DEAD_LETTER)) {
            assertTrue(topics.containsKey(topic), topic + " is declared");
        }
        for (String topic : topics.keySet()) {
            assertTrue(topic.startsWith("easel."), topic);
        }
        for (String compacted : List.of(Topics.JOB_STATE, Topics.WORKERS, Topics.API_KEYS)) {
            assertEquals("compact", topics.get(compacted).path("cleanup.policy").asText(), compacted);
        }
        assertEquals("compact,delete", topics.get(Topics.IDEMPOTENCY).path("cleanup.policy").asText());
        long eventsHours = Long.parseLong(gatewaySettings.getProperty("easel.events.retention-hours"));
        assertEquals(eventsHours * 3_600_000L, topics.get(Topics.EVENTS).path("retention.ms").asLong());
        long idempotencyHours = Long.parseLong(gatewaySettings.getProperty("easel.idempotency.retention-hours"));
        assertEquals((idempotencyHours + 1) * 3_600_000L, topics.get(Topics.IDEMPOTENCY).path("retention.ms").asLong());

        GenericKubernetesResource kafka = generic("Kafka").get(0);
        // The workers need a broker that knows every share group setting they make (a 4.2 broker refused one).
        assertEquals(buildKafkaVersion, json(kafka).path("spec").path("kafka").path("version").asText(),
                "the Kafka version every test here runs");
        for (GenericKubernetesResource resource : generic("KafkaTopic", "KafkaNodePool")) {
            assertEquals(name(kafka), resource.getMetadata().getLabels().get("strimzi.io/cluster"), name(resource));
        }
        JsonNode listener = json(kafka).path("spec").path("kafka").path("listeners").get(0);
        String bootstrap = name(kafka) + "-kafka-bootstrap:" + listener.path("port").asInt();
        assertEquals(bootstrap, configMap("easel").get("KAFKA_BOOTSTRAP_SERVERS"), "Strimzi's bootstrap service");
        assertEquals(bootstrap, configMap("easel").get("EASEL_KAFKA_BOOTSTRAP"));
    }

    @Test
    void workersScaleOnTheQueueDepthTheGatewayExports() throws IOException {
        GenericKubernetesResource scaled = generic("ScaledObject").get(0);
        JsonNode spec = json(scaled).path("spec");
        assertEquals("easel-worker", spec.path("scaleTargetRef").path("name").asText());
        JsonNode trigger = spec.path("triggers").get(0);
        assertEquals("prometheus", trigger.path("type").asText());
        String query = trigger.path("metadata").path("query").asText();
        String metrics = Files.readString(ROOT.resolve("api-gateway/src/main/java/dev/easel/gateway/observability/GatewayMetrics.java"));
        Matcher used = Pattern.compile("easel_[a-z_]+").matcher(query);
        int count = 0;
        while (used.find()) {
            String meter = used.group().replace('_', '.');
            assertTrue(metrics.contains("\"" + meter + "\""), used.group() + " is a metric the gateway exports");
            count++;
        }
        assertTrue(count >= 1 && query.contains("easel_queue_depth"), query);
        String model = Path.of(env(container("easel-worker"), "EASEL_MODEL_DIR")).getFileName().toString();
        assertTrue(query.contains("model=\"" + model + "\""), "the query reads the worker's model " + model);
        assertTrue(spec.path("cooldownPeriod").asInt() >= 60, "no flapping while a worker warms up");
    }

    @Test
    void composeRunsTheOfficialImagesWithTheSameSettings() throws IOException {
        JsonNode compose = new ObjectMapper(new YAMLFactory()).readTree(ROOT.resolve("deploy/compose/compose.yaml")
                .toFile()).path("services");
        assertEquals("apache/kafka:" + buildKafkaVersion, compose.path("kafka").path("image").asText(),
                "the official Kafka, the version every test here runs");
        assertTrue(compose.path("minio").path("image").asText().startsWith("minio/minio"), "the official MinIO");
        assertTrue(dockerfile("gateway.Dockerfile").contains("-t " + compose.path("gateway").path("image").asText()));
        assertTrue(dockerfile("worker.Dockerfile").contains("-t " + compose.path("worker").path("image").asText()));
        assertEquals("8080:" + gatewaySettings.getProperty("quarkus.http.port"),
                compose.path("gateway").path("ports").get(0).asText());
        String workerSource = workerSettingsSource();
        compose.path("worker").path("environment").fieldNames().forEachRemaining(name ->
                assertTrue(workerSource.contains("\"" + name + "\""), name + " is a setting the worker reads"));
        Set<String> dependencies = new HashSet<>();
        compose.path("gateway").path("depends_on").forEach(d -> dependencies.add(d.asText()));
        assertEquals(Set.of("kafka", "minio"), dependencies);
    }

    @Test
    void theImagesCopyWhatTheBuildMakes() throws IOException {
        Pattern copy = Pattern.compile("(?m)^COPY (\\S+) ");
        for (String name : List.of("gateway.Dockerfile", "worker.Dockerfile", "worker-gpu.Dockerfile")) {
            Matcher matcher = copy.matcher(dockerfile(name));
            int copies = 0;
            while (matcher.find()) {
                String source = matcher.group(1);
                Path parent = ROOT.resolve(source.contains("*") ? source.substring(0, source.lastIndexOf('/')) : source);
                assertTrue(Files.exists(parent), name + " copies " + source + ", which the build did not make");
                copies++;
            }
            assertTrue(copies >= 1, name);
        }
        assertFalse(dockerfile("worker.Dockerfile").contains("nvidia/cuda"), "the CPU image needs no CUDA");
    }

    // ---- helpers ----------------------------------------------------------------------------------------------------

    /** Where the worker reads its environment: its own settings and the engine's runtime options. */
    private static String workerSettingsSource() throws IOException {
        return Files.readString(ROOT.resolve("worker/service/src/main/java/dev/easel/worker/WorkerConfig.java"))
                + Files.readString(ROOT.resolve("worker/engine/src/main/java/dev/easel/engine/model/RuntimeOptions.java"));
    }

    private static Map<String, JsonNode> topics() {
        Map<String, JsonNode> topics = new HashMap<>();
        for (GenericKubernetesResource topic : generic("KafkaTopic")) {
            JsonNode spec = json(topic).path("spec");
            topics.put(spec.path("topicName").asText(), spec.path("config"));
        }
        return topics;
    }

    private static JsonNode json(HasMetadata resource) {
        try {
            return new ObjectMapper().readTree(KUBERNETES.asJson(resource));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<GenericKubernetesResource> generic(String... kinds) {
        List<String> wanted = List.of(kinds);
        return RESOURCES.stream().filter(r -> wanted.contains(r.getKind())).map(GenericKubernetesResource.class::cast)
                .toList();
    }

    private static <T extends HasMetadata> List<T> all(Class<T> type) {
        return RESOURCES.stream().filter(type::isInstance).map(type::cast).toList();
    }

    private static <T extends HasMetadata> Set<String> names(Class<T> type) {
        Set<String> names = new HashSet<>();
        all(type).forEach(r -> names.add(name(r)));
        return names;
    }

    private static Deployment deployment(String name) {
        return all(Deployment.class).stream().filter(d -> name(d).equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no Deployment " + name));
    }

    private static Container container(String deployment) {
        return deployment(deployment).getSpec().getTemplate().getSpec().getContainers().get(0);
    }

    private static String env(Container container, String name) {
        return container.getEnv().stream().filter(e -> e.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError(name + " is not set")).getValue();
    }

    private static List<ContainerPort> containerPorts(PodSpec pod) {
        return pod.getContainers().stream().flatMap(c -> c.getPorts().stream()).toList();
    }

    private static Map<String, String> configMap(String name) {
        return all(ConfigMap.class).stream().filter(c -> name(c).equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no ConfigMap " + name)).getData();
    }

    private static String dockerfile(String name) {
        try {
            return Files.readString(ROOT.resolve("deploy/images").resolve(name));
        } catch (IOException e) {
            throw new AssertionError("deploy/images/" + name + " cannot be read", e);
        }
    }

    private static String name(HasMetadata resource) {
        return resource.getMetadata().getName();
    }
}
