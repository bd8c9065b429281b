package dev.easel.gateway.webhooks;

import dev.easel.gateway.jobs.InvalidJobException;

import dev.easel.contracts.FieldError;
import jakarta.enterprise.context.ApplicationScoped;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Optional;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Which webhook URLs the gateway will call: none that resolves to a link-local (cloud metadata lives there), multicast or
 * unspecified address, and none that resolves to a loopback or a private (RFC 1918, carrier-grade NAT, unique-local)
 * address unless configuration allows it ({@code easel.webhooks.allow-loopback}, which the local stack sets;
 * {@code easel.webhooks.allow-private}).
 * Checked at submit and again before every delivery, since a name may resolve differently later.
 */
@ApplicationScoped
public class WebhookTargets {
    @ConfigProperty(name = "easel.webhooks.allow-loopback", defaultValue = "false")
    boolean allowLoopback;

    @ConfigProperty(name = "easel.webhooks.allow-private", defaultValue = "false")
    boolean allowPrivate;

    /** 400 naming {@code webhook.url} when the URL's host is not a public address (or an allowed one). */
    public void check(String url) {
        refusal(url).ifPresent(reason -> {
            throw new InvalidJobException(List.of(new FieldError("webhook.url", reason)));
        });
    }

    /** Why the gateway will not call {@code url}; empty when it will. */
    Optional<String> refusal(String url) {
        String host = URI.create(url).getHost();
        InetAddress[] addresses;
        try {
            addresses = InetAddress.getAllByName(host.startsWith("[") ? host.substring(1, host.length() - 1) : host);
        } catch (UnknownHostException e) {
            return Optional.of("host '" + host + "' does not resolve");
        }
        for (InetAddress address : addresses) {
            String kind = kind(address);
            if (kind != null) {
                return Optional.of("resolves to " + kind + " address " + address.getHostAddress() + "; webhooks go"
                        + " only to public addresses" + (kind.equals("a loopback")
                        ? " (easel.webhooks.allow-loopback allows loopback)"
                        : kind.equals("a private") ? " (easel.webhooks.allow-private allows private ranges)" : ""));
            }
        }
        return Optional.empty();
    }

    /** What kind of non-public address this is, or null when the gateway may call it. */
    private String kind(InetAddress address) {
        if (address.isLoopbackAddress()) {
            return allowLoopback ? null : "a loopback";
        }
        if (address.isAnyLocalAddress() || address.isMulticastAddress() || address.isLinkLocalAddress()) {
            return "an unspecified, multicast or link-local";
        }
        byte[] bytes = address.getAddress();
        boolean carrierNat = bytes.length == 4 && (bytes[0] & 0xff) == 100 && (bytes[1] & 0xc0) == 64;
        boolean uniqueLocal = address instanceof Inet6Address && (bytes[0] & 0xfe) == 0xfc;
        if (address.isSiteLocalAddress() || carrierNat || uniqueLocal) {
            return allowPrivate ? null : "a private";
        }
        return null;
    }
}
