package dev.easel.cli;

import dev.easel.models.ModelGenerator;
import dev.easel.models.TimestepInput;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * {@code easel models make toy|tiny|esrgan DIR} writes a generated model folder; {@code easel models push DIR [--id ID]}
 * puts a folder into the model store (the local stack's, or {@code --s3 URL}); {@code easel models store} lists it.
 */
final class ModelsCommand {
    private final PrintStream out;
    private final PrintStream err;

    ModelsCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    int run(List<String> args) throws Exception {
        if (args.get(0).equals("push") || args.get(0).equals("store")) {
            return store(args);
        }
        Arguments arguments = new Arguments(args, Set.of("timestep", "prediction"), Set.of("lcm"));
        List<String> words = arguments.positional();
        if (words.size() != 3 || !words.get(0).equals("make")) {
            throw new UsageException("usage: easel models make toy|tiny|esrgan DIR [--timestep float32|int64|float16]"
                    + " [--prediction epsilon|v_prediction] [--lcm]");
        }
        ModelGenerator.Kind kind = ModelGenerator.Kind.parse(words.get(1));
        TimestepInput timestep = switch (arguments.value("timestep", "float32").toLowerCase(Locale.ROOT)) {
            case "float32" -> TimestepInput.FLOAT32;
            case "int64" -> TimestepInput.INT64;
            case "float16" -> TimestepInput.FLOAT16;
            default -> throw new UsageException("--timestep must be float32, int64 or float16");
        };
        String prediction = arguments.value("prediction", "epsilon");
        if (!prediction.equals("epsilon") && !prediction.equals("v_prediction")) {
            throw new UsageException("--prediction must be epsilon or v_prediction");
        }
        if (prediction.equals("v_prediction") && kind != ModelGenerator.Kind.TOY) {
            throw new UsageException("--prediction v_prediction is offered for the toy model only");
        }
        if (kind == ModelGenerator.Kind.ESRGAN && (arguments.value("timestep") != null
                || arguments.value("prediction") != null || arguments.flag("lcm"))) {
            throw new UsageException("--timestep, --prediction and --lcm apply to diffusion models, not esrgan");
        }
        if (arguments.flag("lcm") && kind != ModelGenerator.Kind.TINY) {
            throw new UsageException("--lcm is offered for the tiny model only");
        }
        Path folder = ModelGenerator.write(new ModelGenerator.Spec(kind, timestep, prediction.equals("v_prediction"),
                arguments.flag("lcm")), Path.of(words.get(2)));
        out.println(folder);
        return 0;
    }

    private int store(List<String> args) throws Exception {
        Arguments arguments = new Arguments(args, Set.of("id", "s3", "bucket"), Set.of("json"));
        List<String> words = arguments.positional();
        boolean push = words.get(0).equals("push");
        if (push ? words.size() != 2 : words.size() != 1) {
            throw new UsageException("usage: easel models push DIR [--id ID] [--s3 URL] [--bucket B]"
                    + " | easel models store [--s3 URL] [--bucket B] [--json]");
        }
        String endpoint = arguments.value("s3") != null ? arguments.value("s3")
                : dev.easel.deploy.StackSettings.load(EaselHome.folder()).s3Endpoint();
        dev.easel.store.ModelStore store = new dev.easel.store.ModelStore(endpoint,
                dev.easel.deploy.LocalStack.S3_ACCESS_KEY, dev.easel.deploy.LocalStack.S3_SECRET_KEY,
                arguments.value("bucket", dev.easel.store.ModelStore.DEFAULT_BUCKET));
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        if (push) {
            Path folder = Path.of(words.get(1));
            String id = arguments.value("id", folder.toAbsolutePath().normalize().getFileName().toString());
            long start = System.nanoTime();
            dev.easel.store.ModelManifest manifest;
            try {
                manifest = store.push(folder, id);
            } catch (IllegalArgumentException e) {
                throw new UsageException(e.getMessage());
            }
            err.println("pushed " + id + " (" + manifest.kind() + ", " + manifest.files().size() + " files, "
                    + manifest.bytes() / (1024 * 1024) + " MB) to " + endpoint + "/" + store.bucket() + " in "
                    + (System.nanoTime() - start) / 1_000_000 + " ms");
            out.println(json.writeValueAsString(manifest));
            return 0;
        }
        List<dev.easel.store.ModelManifest> catalogue = store.catalogue();
        if (arguments.flag("json")) {
            out.println(json.writeValueAsString(java.util.Map.of("models", catalogue)));
            return 0;
        }
        out.printf("%-32s %-18s %8s %10s%n", "MODEL", "KIND", "FILES", "MEMORY MB");
        for (dev.easel.store.ModelManifest model : catalogue) {
            out.printf("%-32s %-18s %8d %10d%n", model.id(), model.kind(), model.files().size(),
                    model.memoryEstimateMb());
        }
        return 0;
    }
}
