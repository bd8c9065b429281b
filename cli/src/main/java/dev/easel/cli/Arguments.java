package dev.easel.cli;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Command-line options: {@code --name value} (repeatable: {@link #values}), {@code --flag}, and positional words;
 * unknown options are errors.
 */
final class Arguments {
    private final Map<String, String> options = new HashMap<>();
    private final Map<String, List<String>> repeated = new HashMap<>();
    private final Set<String> flags = new HashSet<>();
    private final List<String> positional = new ArrayList<>();

    Arguments(List<String> args, Set<String> valueOptions, Set<String> flagOptions) {
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (arg.startsWith("--")) {
                String name = arg.substring(2);
                String inlineValue = null;
                int equals = name.indexOf('=');
                if (equals >= 0) {
                    inlineValue = name.substring(equals + 1);
                    name = name.substring(0, equals);
                }
                if (flagOptions.contains(name) && inlineValue == null) {
                    flags.add(name);
                } else if (valueOptions.contains(name)) {
                    String value = inlineValue;
                    if (value == null) {
                        if (i + 1 >= args.size()) {
                            throw new UsageException("--" + name + " needs a value");
                        }
                        value = args.get(++i);
                    }
                    options.put(name, value);
                    repeated.computeIfAbsent(name, n -> new ArrayList<>()).add(value);
                } else {
                    throw new UsageException("unknown option --" + name);
                }
            } else {
                positional.add(arg);
            }
        }
    }

    boolean flag(String name) {
        return flags.contains(name);
    }

    String value(String name) {
        return options.get(name);
    }

    /** Every value given for a repeatable option, in order. */
    List<String> values(String name) {
        return repeated.getOrDefault(name, List.of());
    }

    String value(String name, String fallback) {
        return options.getOrDefault(name, fallback);
    }

    int intValue(String name, int fallback) {
        String value = options.get(name);
        if (value == null) {
            return fallback;
        }
        try {
            return Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            throw notAWholeNumber(name, value, Integer.MIN_VALUE, Integer.MAX_VALUE);
        }
    }

    /** An optional whole number: null when the option is absent. */
    Integer intValue(String name) {
        return options.containsKey(name) ? intValue(name, 0) : null;
    }

    /** An optional number: null when the option is absent. */
    Double doubleValue(String name) {
        return options.containsKey(name) ? doubleValue(name, 0) : null;
    }

    Long longValue(String name) {
        String value = options.get(name);
        if (value == null) {
            return null;
        }
        try {
            return Long.parseLong(value.strip());
        } catch (NumberFormatException e) {
            throw notAWholeNumber(name, value, Long.MIN_VALUE, Long.MAX_VALUE);
        }
    }

    /** A whole number out of range is told apart from text that is no number, so the fix is clear. */
    private static UsageException notAWholeNumber(String name, String value, long min, long max) {
        return new UsageException("--" + name + " must be a whole number" + (value.strip().matches("[-+]?\\d+")
                ? " from " + min + " to " + max : "") + ", got '" + value + "'");
    }

    double doubleValue(String name, double fallback) {
        String value = options.get(name);
        if (value == null) {
            return fallback;
        }
        try {
            return Double.parseDouble(value.strip());
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be a number, got '" + value + "'");
        }
    }

    List<String> positional() {
        return positional;
    }
}
