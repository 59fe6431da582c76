package io.zswapd.actors;

import akka.actor.typed.ActorRef;
import io.zswapd.actors.embedded.OverflowStore;
import io.zswapd.actors.tree.ExportRoute;
import io.zswapd.actors.tree.SwapType;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Routing, one of the guardian's four jobs: which exports exist and where their page requests
 * go. It holds every export's {@link SwapType} (configured exports and those added at run time)
 * and every overflow namespace's, and hands out the routing table
 * ({@link ZswapGuardian.Routes}) made from the exports' routing entries ({@link ExportRoute}):
 * immutable, replaced whole with a higher version whenever an export is added or removed. An
 * export enters the table once its swap type has made its shards and sent its entry; until
 * every export started has, the table is not handed out ({@link #complete()}). Overflow
 * namespaces are not in the table; their directories hold their own export's entry.
 *
 * <p>Plain state of the guardian, touched only on its thread.
 */
final class ExportTable {
  private final Map<String, ActorRef<SwapType.Command>> exports = new LinkedHashMap<>();
  private final Map<String, ActorRef<OverflowStore.Command>> namespaces = new LinkedHashMap<>();
  private final Map<String, ActorRef<SwapType.Command>> namespaceExports = new LinkedHashMap<>();
  private final Map<String, ExportRoute> entries = new LinkedHashMap<>();
  /** Exports started whose routing entry has not come yet. */
  private final Set<String> waiting = new HashSet<>();
  private ZswapGuardian.Routes routes = new ZswapGuardian.Routes(0, Map.of());

  /** The routing table in force. */
  ZswapGuardian.Routes routes() {
    return routes;
  }

  boolean hasExport(String name) {
    return exports.containsKey(name);
  }

  /** True when every export started is in the routing table. */
  boolean complete() {
    return waiting.isEmpty();
  }

  /** Adds an export, which enters the routing table when its entry comes ({@link #ready}). */
  void addExport(String name, ActorRef<SwapType.Command> swapType) {
    exports.put(name, swapType);
    waiting.add(name);
  }

  /** An export's routing entry: into the table (a new version of it), unless the export is gone meanwhile. */
  boolean ready(ExportRoute route) {
    if (!route.swapType().equals(exports.get(route.name()))) {
      return false;
    }
    waiting.remove(route.name());
    entries.put(route.name(), route);
    routes = new ZswapGuardian.Routes(routes.version() + 1, entries);
    return true;
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
      waiting.remove(name);
      if (entries.remove(name) != null) {
        routes = new ZswapGuardian.Routes(routes.version() + 1, entries);
      }
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
