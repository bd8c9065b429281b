package dev.easel.cli;

import dev.easel.engine.tokenizer.ClipTokenizer;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/** {@code easel tokenize}: the raw ids the text encoder gets for a prompt, as one JSON array. */
final class TokenizeCommand {
    private final PrintStream out;
    private final PrintStream err;

    TokenizeCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    int run(List<String> args) throws Exception {
        Arguments arguments = new Arguments(args, Set.of("model"), Set.of());
        if (arguments.positional().size() != 1) {
            throw new UsageException("tokenize takes one TEXT argument (quote it), e.g. easel tokenize \"a photo of a cat\"");
        }
        Path model = RunCommand.modelFolder(arguments.value("model"), err);
        ClipTokenizer tokenizer = ClipTokenizer.load(model.resolve("tokenizer"));
        int[] ids = tokenizer.encode(arguments.positional().get(0));
        out.println(Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(",", "[", "]")));
        return 0;
    }
}
