package dev.bbdiy.archive;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Date;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import org.bouncycastle.bcpg.SymmetricKeyAlgorithmTags;
import org.bouncycastle.openpgp.PGPCompressedData;
import org.bouncycastle.openpgp.PGPEncryptedData;
import org.bouncycastle.openpgp.PGPEncryptedDataGenerator;
import org.bouncycastle.openpgp.PGPEncryptedDataList;
import org.bouncycastle.openpgp.PGPException;
import org.bouncycastle.openpgp.PGPLiteralData;
import org.bouncycastle.openpgp.PGPLiteralDataGenerator;
import org.bouncycastle.openpgp.PGPMarker;
import org.bouncycastle.openpgp.PGPPrivateKey;
import org.bouncycastle.openpgp.PGPPublicKey;
import org.bouncycastle.openpgp.PGPPublicKeyEncryptedData;
import org.bouncycastle.openpgp.PGPPublicKeyRing;
import org.bouncycastle.openpgp.PGPPublicKeyRingCollection;
import org.bouncycastle.openpgp.PGPSecretKey;
import org.bouncycastle.openpgp.PGPSecretKeyRingCollection;
import org.bouncycastle.openpgp.PGPUtil;
import org.bouncycastle.openpgp.bc.BcPGPObjectFactory;
import org.bouncycastle.openpgp.operator.bc.BcKeyFingerprintCalculator;
import org.bouncycastle.openpgp.operator.bc.BcPBESecretKeyDecryptorBuilder;
import org.bouncycastle.openpgp.operator.bc.BcPGPDigestCalculatorProvider;
import org.bouncycastle.openpgp.operator.bc.BcPublicKeyDataDecryptorFactory;
import org.bouncycastle.openpgp.operator.bc.BcPublicKeyKeyEncryptionMethodGenerator;
import org.bouncycastle.openpgp.operator.jcajce.JcePGPDataEncryptorBuilder;
import org.jspecify.annotations.Nullable;

/**
 * OpenPGP encryption of archives while they are streamed, as {@code gpg --encrypt} makes them (a public-key
 * encrypted session key per recipient, AES-256 with an integrity packet, one binary literal packet, no
 * compression: the archive is compressed already), so that {@code gpg --decrypt} reads them and bbdiy reads what
 * {@code gpg --encrypt} made. Only Bouncy Castle's lightweight API is used: no JCE provider is registered.
 */
public final class OpenPgp {
  private OpenPgp() {}

  /**
   * Reads the encryption key of each public key file (armored or binary, as {@code gpg --export} writes them).
   *
   * @throws BbdiyException {@link ErrorCode#CONFIGURATION} naming a file that cannot be read or has no key that
   *     may encrypt
   */
  public static List<PGPPublicKey> recipients(List<Path> files, String setting) {
    List<PGPPublicKey> keys = new ArrayList<>();
    for (Path f : files) {
      PGPPublicKey key = null;
      try (InputStream in = PGPUtil.getDecoderStream(Files.newInputStream(f))) {
        PGPPublicKeyRingCollection rings = new PGPPublicKeyRingCollection(in, new BcKeyFingerprintCalculator());
        for (Iterator<PGPPublicKeyRing> r = rings.getKeyRings(); r.hasNext() && key == null; ) {
          for (Iterator<PGPPublicKey> k = r.next().getPublicKeys(); k.hasNext(); ) {
            PGPPublicKey candidate = k.next();
            if (candidate.isEncryptionKey() && !candidate.hasRevocation()) {
              key = candidate;
              if (!candidate.isMasterKey()) {
                break; // gpg encrypts to the subkey
              }
            }
          }
        }
      } catch (IOException | PGPException | RuntimeException e) {
        throw BbdiyException.configuration(setting + ": cannot read the OpenPGP public key " + f + " ("
            + e.getMessage() + "). Export it with 'gpg --export --armor <recipient> > " + f + "'");
      }
      if (key == null) {
        throw BbdiyException.configuration(setting + ": " + f + " holds no OpenPGP key that may encrypt; export the"
            + " recipient's public key with its encryption subkey (gpg --export --armor <recipient>)");
      }
      keys.add(key);
    }
    return List.copyOf(keys);
  }

  /** Returns a key id as gpg shows it (16 upper-case hex digits). */
  public static String keyId(long id) {
    return String.format(Locale.ROOT, "%016X", id);
  }

  /**
   * Returns a stream that encrypts what is written to it to {@code recipients} into {@code out}; closing it
   * finishes the OpenPGP packets and closes {@code out}.
   */
  public static OutputStream encrypt(OutputStream out, List<PGPPublicKey> recipients) throws IOException {
    // The bulk cipher and the integrity hash through the JDK's own providers (AES-NI, intrinsic SHA-1): Bouncy
    // Castle's pure-Java AES was several times slower than the archive's compression.
    PGPEncryptedDataGenerator generator = new PGPEncryptedDataGenerator(
        new JcePGPDataEncryptorBuilder(SymmetricKeyAlgorithmTags.AES_256).setWithIntegrityPacket(true)
            .setSecureRandom(new SecureRandom()));
    for (PGPPublicKey k : recipients) {
      generator.addMethod(new BcPublicKeyKeyEncryptionMethodGenerator(k));
    }
    OutputStream encrypted;
    try {
      encrypted = generator.open(out, new byte[1 << 16]);
    } catch (PGPException e) {
      throw new IOException("cannot start OpenPGP encryption: " + e.getMessage(), e);
    }
    PGPLiteralDataGenerator literal = new PGPLiteralDataGenerator();
    OutputStream plain = literal.open(encrypted, PGPLiteralData.BINARY, "", new Date(), new byte[1 << 16]);
    // Named apart: inside the subclass, "out" is FilterOutputStream's field (the literal stream), and closing that
    // instead of the store's stream left a file open and an S3 upload without its last part.
    OutputStream store = out;
    return new FilterOutputStream(plain) {
      private boolean closed;

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        plain.write(b, off, len);
      }

      @Override
      public void close() throws IOException {
        if (closed) {
          return;
        }
        closed = true;
        try {
          literal.close();
          generator.close();
        } finally {
          store.close();
        }
      }
    };
  }

  /** Returns the key ids an encrypted stream is encrypted to, reading only its first packets. */
  public static List<String> encryptedTo(InputStream in) throws IOException {
    PGPEncryptedDataList list = encryptedDataList(in);
    List<String> ids = new ArrayList<>();
    for (PGPEncryptedData d : list) {
      if (d instanceof PGPPublicKeyEncryptedData p) {
        ids.add(keyId(p.getKeyID()));
      }
    }
    return ids;
  }

  /**
   * Returns the decrypted content of {@code in}. Everything that can fail because of the key (none of the
   * recipients' keys in the key file, a wrong passphrase) fails here, before a byte of content is returned; the
   * integrity packet is checked when the content has been read to its end.
   *
   * @throws BbdiyException {@link ErrorCode#CONFIGURATION} for the wrong key or passphrase, {@link
   *     ErrorCode#VERIFICATION_FAILED} if the stream is not OpenPGP encrypted data
   */
  public static InputStream decrypt(InputStream in, Path secretKeyFile, char[] passphrase, String what) {
    PGPEncryptedDataList list;
    try {
      list = encryptedDataList(in);
    } catch (IOException e) {
      throw new BbdiyException(ErrorCode.VERIFICATION_FAILED, what + " is not OpenPGP encrypted data (" + e.getMessage()
          + "): it is damaged or not an encrypted archive");
    }
    PGPSecretKeyRingCollection secrets;
    try (InputStream k = PGPUtil.getDecoderStream(Files.newInputStream(secretKeyFile))) {
      secrets = new PGPSecretKeyRingCollection(k, new BcKeyFingerprintCalculator());
    } catch (IOException | PGPException | RuntimeException e) {
      throw BbdiyException.configuration("Cannot read the OpenPGP secret key file " + secretKeyFile + " ("
          + e.getMessage() + "). Export it with 'gpg --export-secret-keys --armor <key>'");
    }
    List<String> recipients = new ArrayList<>();
    for (PGPEncryptedData d : list) {
      if (!(d instanceof PGPPublicKeyEncryptedData pked)) {
        continue;
      }
      recipients.add(keyId(pked.getKeyID()));
      PGPSecretKey secret = secrets.getSecretKey(pked.getKeyID());
      if (secret == null) {
        continue;
      }
      PGPPrivateKey key;
      try {
        key = secret.extractPrivateKey(new BcPBESecretKeyDecryptorBuilder(new BcPGPDigestCalculatorProvider())
            .build(passphrase));
      } catch (PGPException | RuntimeException e) {
        throw BbdiyException.configuration("The passphrase does not unlock the OpenPGP key " + keyId(pked.getKeyID())
            + " in " + secretKeyFile + ": check the passphrase file. Nothing was restored");
      }
      try {
        InputStream clear = pked.getDataStream(new BcPublicKeyDataDecryptorFactory(key));
        Object o = new BcPGPObjectFactory(clear).nextObject();
        if (o instanceof PGPCompressedData c) {
          o = new BcPGPObjectFactory(c.getDataStream()).nextObject();
        }
        if (!(o instanceof PGPLiteralData literal)) {
          throw new BbdiyException(ErrorCode.VERIFICATION_FAILED, what + " decrypts to something that is not a"
              + " file (an OpenPGP " + (o == null ? "end" : o.getClass().getSimpleName()) + ")");
        }
        return new Checked(literal.getInputStream(), pked, what);
      } catch (PGPException | IOException e) {
        throw new BbdiyException(ErrorCode.VERIFICATION_FAILED, "Cannot decrypt " + what + " with key "
            + keyId(pked.getKeyID()) + ": " + e.getMessage() + ". The archive is damaged, or the key is not the"
            + " one it was encrypted to");
      }
    }
    throw BbdiyException.configuration(what + " is encrypted to " + String.join(", ", recipients) + ", and "
        + secretKeyFile + " holds the secret key of none of them: give the right key file. Nothing was restored");
  }

  private static PGPEncryptedDataList encryptedDataList(InputStream in) throws IOException {
    BcPGPObjectFactory factory = new BcPGPObjectFactory(PGPUtil.getDecoderStream(in));
    Object o;
    try {
      o = factory.nextObject();
      while (o instanceof PGPMarker) {
        o = factory.nextObject();
      }
    } catch (RuntimeException e) {
      throw new IOException(e.getMessage(), e);
    }
    if (!(o instanceof PGPEncryptedDataList list)) {
      throw new IOException("it starts with " + (o == null ? "nothing" : "an OpenPGP " + o.getClass().getSimpleName())
          + ", not encrypted session keys");
    }
    return list;
  }

  /** The decrypted content; at its end the integrity packet must match. */
  private static final class Checked extends FilterInputStream {
    private final PGPPublicKeyEncryptedData data;
    private final String what;
    private boolean checked;

    Checked(InputStream in, PGPPublicKeyEncryptedData data, String what) {
      super(in);
      this.data = data;
      this.what = what;
    }

    @Override
    public int read() throws IOException {
      int b = super.read();
      if (b < 0) {
        check();
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, len);
      if (n < 0) {
        check();
      }
      return n;
    }

    private void check() throws IOException {
      if (checked) {
        return;
      }
      checked = true;
      try {
        if (!data.isIntegrityProtected() || !data.verify()) {
          throw new IOException(what + " fails OpenPGP's integrity check: it was changed after it was encrypted");
        }
      } catch (PGPException e) {
        throw new IOException(what + ": OpenPGP integrity check failed: " + e.getMessage(), e);
      }
    }

    @Override
    public void close() throws IOException {
      // Read to the end so that the integrity packet is checked even when the reader stopped at tar's end.
      byte[] rest = new byte[1 << 16];
      try {
        while (read(rest, 0, rest.length) >= 0) {
          // draining
        }
      } finally {
        super.close();
      }
    }
  }

  /** Returns the passphrase characters, or an empty array. */
  public static char[] chars(@Nullable String passphrase) {
    return passphrase == null ? new char[0] : passphrase.toCharArray();
  }
}
