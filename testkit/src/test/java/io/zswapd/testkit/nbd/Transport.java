package io.zswapd.testkit.nbd;

import io.zswapd.testkit.NbdFixture;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;

/** The two ways a client reaches the NBD server; protocol tests run over both. */
enum Transport {
  TCP,
  UNIX;

  SocketAddress address(NbdFixture fixture) {
    return this == TCP ? fixture.tcp() : UnixDomainSocketAddress.of(fixture.unixSocket());
  }
}
