package io.zswapd.actors.overflow;

import akka.serialization.Serialization;
import akka.serialization.Serializer;
import akka.serialization.Serializers;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;

/**
 * An object as Akka Serialization writes it: the bytes, and the serializer id and manifest that
 * read them back. The overflow store keeps values this way (the id and manifest in the
 * directory, the bytes in pages); the spill buffer frames elements this way in its batches.
 */
public record SerializedValue(int serializer, String manifest, byte[] bytes) {

  /**
   * {@code value} through the serializer bound to its class. Throws what Akka throws: a
   * {@code NotSerializableException} (unchecked through Scala) when no serializer is bound.
   */
  public static SerializedValue of(Serialization serialization, Object value) {
    Serializer s = serialization.findSerializerFor(value);
    return new SerializedValue(s.identifier(), Serializers.manifestFor(s, value), s.toBinary(value));
  }

  /** The object back, through the serializer of this id; throws what that serializer throws. */
  public Object restore(Serialization serialization) {
    return serialization.deserialize(bytes, serializer, manifest).get();
  }

  /** Writes id, manifest, length and bytes: one frame of a batch. */
  public void writeTo(DataOutputStream out) throws IOException {
    out.writeInt(serializer);
    out.writeUTF(manifest);
    out.writeInt(bytes.length);
    out.write(bytes);
  }

  /** Reads a frame {@link #writeTo} wrote. */
  public static SerializedValue readFrom(DataInputStream in) throws IOException {
    int serializer = in.readInt();
    String manifest = in.readUTF();
    byte[] bytes = new byte[in.readInt()];
    in.readFully(bytes);
    return new SerializedValue(serializer, manifest, bytes);
  }
}
