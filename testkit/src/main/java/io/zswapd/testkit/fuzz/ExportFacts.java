package io.zswapd.testkit.fuzz;

import io.zswapd.protocol.nbd.ExportDetails;
import io.zswapd.protocol.nbd.Nbd;

/**
 * What the server said about an export when the run began; every later handshake must say the
 * same.
 *
 * @param maxPayload the largest READ or WRITE, from NBD_INFO_BLOCK_SIZE
 */
record ExportFacts(String name, long size, int transmissionFlags, int maxPayload) {
  static ExportFacts of(String name, ExportDetails d) {
    int max = d.blockSize().map(ExportDetails.BlockSize::maximum)
        .orElseThrow(() -> new IllegalStateException("NBD_OPT_GO for '" + name + "' sent no NBD_INFO_BLOCK_SIZE"));
    return new ExportFacts(name, d.sizeBytes(), d.transmissionFlags(), max);
  }

  boolean readOnly() {
    return (transmissionFlags & Nbd.FLAG_READ_ONLY) != 0;
  }
}
