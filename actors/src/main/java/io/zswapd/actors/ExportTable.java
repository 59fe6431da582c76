package io.zswapd.actors;

import akka.actor.typed.ActorRef;
import io.zswapd.actors.embedded.OverflowStore;
import io.zswapd.actors.tree.SwapType;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Routing, one of the guardian's four jobs: which exports exist and where their page requests
 * go. It holds every export's {@link SwapType} (configured exports and those added at run time)
 * and every overflow namespace's, and hands out the routing table
 * ({@link ZswapGuardian.Routes}) made from the exports: immutable, replaced whole with a higher
 * version whenever an export is added or removed. Overflow namespaces are not in the table;
 * their directories hold their own export's route.
 *
 * <p>Plain state of the guardian, touched only on its thread.
 */
final class ExportTable {
  private final Map<String, ActorRef<SwapType.Command>> exports = new LinkedHashMap<>();
  private final Map<String, ActorRef<OverflowStore.Command>> namespaces = new LinkedHashMap<>();
  private final Map<String, ActorRef<SwapType.Command>> namespaceExports = new LinkedHashMap<>();
  private ZswapGuardian.Routes routes = new ZswapGuardian.Routes(0, Map.of());

  /** The routing table in force. */
  ZswapGuardian.Routes routes() {
    return routes;
  }

  boolean hasExport(String name) {
    return exports.containsKey(name);
  }

  /** Adds an export to the routing table (a new version of it). */
  void addExport(String name, ActorRef<SwapType.Command> swapType) {
    exports.put(name, swapType);
    routes = new ZswapGuardian.Routes(routes.version() + 1, exports);
  }

  /** An export or a namespace's export by name, or null. */
  ActorRef<SwapType.Command> find(String name) {
    ActorRef<SwapType.Command> e = exports.get(name);
    return e != null ? e : namespaceExports.get(name);
  }

  /** Takes an export (out of the routing table: a new version) or a namespace's export away; null if none. */
  ActorRef<SwapType.Command> remove(String name) {
    ActorRef<SwapType.Command> e = exports.remove(name);
    if (e != null) {
      routes = new ZswapGuardian.Routes(routes.version() + 1, exports);
      return e;
    }
    return namespaceExports.remove(name);
  }

  /** The directory of {@code namespace}, or null before it is opened. */
  ActorRef<OverflowStore.Command> namespace(String namespace) {
    return namespaces.get(namespace);
  }

  void addNamespace(String namespace, String export, ActorRef<SwapType.Command> swapType,
      ActorRef<OverflowStore.Command> directory) {
    namespaces.put(namespace, directory);
    namespaceExports.put(export, swapType);
  }

  /** Every export's swap type, configured and added first, then the namespaces'. */
  List<ActorRef<SwapType.Command>> all() {
    List<ActorRef<SwapType.Command>> all = new ArrayList<>(exports.values());
    all.addAll(namespaceExports.values());
    return all;
  }

  /** Every export's name, in the order of {@link #all()}. */
  List<String> names() {
    List<String> names = new ArrayList<>(exports.keySet());
    names.addAll(namespaceExports.keySet());
    return names;
  }
}
