/** The part of sm-crypto (SM2, GB/T 32918) that Gatehouse uses; the package ships no types. */
declare module 'sm-crypto' {
  /** 0 = C1C2C3 (the old standard's order), 1 = C1C3C2 (GB/T 32918.4-2016). */
  type CipherMode = 0 | 1;

  export const sm2: {
    /** Hex keys: private 64 digits, public uncompressed "04" + x + y. Give a hex random value (radix 16) to avoid the library's own RNG. */
    generateKeyPairHex(random?: string, radix?: number): { privateKey: string; publicKey: string };
    /** Hex ciphertext whose C1 has no leading "04". */
    doEncrypt(message: string | ArrayLike<number>, publicKey: string, cipherMode?: CipherMode): string;
    /** The plaintext, or an empty string / empty array when the ciphertext does not decrypt. */
    doDecrypt(ciphertext: string, privateKey: string, cipherMode: CipherMode, options: { output: 'array' }): number[];
    doDecrypt(ciphertext: string, privateKey: string, cipherMode?: CipherMode, options?: { output?: 'string' }): string;
    verifyPublicKey(publicKey: string): boolean;
    getPublicKeyFromPrivateKey(privateKey: string): string;
  };
}
