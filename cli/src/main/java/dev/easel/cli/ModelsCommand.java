package dev.easel.cli;

import dev.easel.models.ModelGenerator;
import dev.easel.models.TimestepInput;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** {@code easel models make toy|tiny|esrgan DIR}: writes a generated model folder. */
final class ModelsCommand {
    private final PrintStream out;
    private final PrintStream err;

    ModelsCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    int run(List<String> args) throws Exception {
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
}
