package io.zswapd.actors.embedded;

import akka.actor.setup.Setup;
import io.zswapd.actors.writeback.BackingIo;
import io.zswapd.config.ExportSettings;
import java.io.IOException;

/**
 * Hands the engine the backing-file I/O of each export instead of opening the configured
 * files: how tests gate or fail backing writes deterministically, and how an embedding
 * application can put backing pages somewhere other than a plain file.
 *
 * <pre>{@code
 * ActorSystem.create(guardian, "app", BootstrapSetup.create(config).and(new ZswapdSetup(export -> myIo)));
 * }</pre>
 */
public final class ZswapdSetup extends Setup {
  /** Opens the backing I/O of an export that has a {@code backing-file}. */
  @FunctionalInterface
  public interface BackingIoFactory {
    BackingIo open(ExportSettings export) throws IOException;
  }

  private final BackingIoFactory backingIo;

  public ZswapdSetup(BackingIoFactory backingIo) {
    this.backingIo = backingIo;
  }

  public BackingIoFactory backingIo() {
    return backingIo;
  }
}
