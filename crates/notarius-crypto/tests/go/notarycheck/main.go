// notarycheck runs Notary 0.7's own Go code (the Debian golang-github-docker-notary-dev
// sources) on files written by notarius-crypto, so the tests can ask Notary itself whether it
// reads our keys, certificates and signatures. Built by tests/notary_go_code.rs.
package main

import (
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io/ioutil"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/theupdateframework/notary/passphrase"
	"github.com/theupdateframework/notary/trustmanager"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/signed"
	"github.com/theupdateframework/notary/tuf/utils"
)

func fail(err error) {
	fmt.Println("ERROR", err)
	os.Exit(1)
}

func read(p string) []byte {
	b, err := ioutil.ReadFile(p)
	if err != nil {
		fail(err)
	}
	return b
}

func main() {
	args := os.Args[1:]
	switch args[0] {
	case "key": // key <file> <passphrase>: canonical ID, algorithm, role, gun
		b := read(args[1])
		k, err := utils.ParsePEMPrivateKey(b, args[2])
		if err != nil {
			fail(err)
		}
		role, gun, err := utils.ExtractPrivateKeyAttributes(b)
		if err != nil {
			fail(err)
		}
		fmt.Println(k.ID(), k.Algorithm(), role, gun)
	case "pkcs8": // pkcs8 <file> <passphrase> <role> <gun>: the key as Notary writes it unencrypted
		k, err := utils.ParsePEMPrivateKey(read(args[1]), args[2])
		if err != nil {
			fail(err)
		}
		out, err := utils.ConvertPrivateKeyToPKCS8(k, data.RoleName(args[3]), data.GUN(args[4]), "")
		if err != nil {
			fail(err)
		}
		os.Stdout.Write(out)
	case "pem": // pem <file>...: every block Go's pem.Decode finds in each file
		for _, f := range args[1:] {
			rest := read(f)
			for {
				var b *pem.Block
				b, rest = pem.Decode(rest)
				if b == nil {
					break
				}
				var hs []string
				for k, v := range b.Headers {
					hs = append(hs, k+"="+v)
				}
				sort.Strings(hs)
				fmt.Printf("%q %q %s\n", b.Type, strings.Join(hs, ";"), base64.StdEncoding.EncodeToString(b.Bytes))
			}
			fmt.Println("--")
		}
	case "cert": // cert <pem>: what Notary sees in a root certificate
		c, err := utils.LoadCertFromPEM(read(args[1]))
		if err != nil {
			fail(err)
		}
		if err := utils.ValidateCertificate(c, true); err != nil {
			fail(err)
		}
		// Self-signed but not a CA, so CheckSignatureFrom would refuse the parent itself.
		if err := c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
			fail(err)
		}
		k := utils.CertToKey(c)
		id, err := utils.CanonicalKeyID(k)
		if err != nil {
			fail(err)
		}
		days := int64(c.NotAfter.Sub(c.NotBefore) / (24 * time.Hour))
		fmt.Println(k.Algorithm(), id, c.Subject.CommonName, c.Issuer.CommonName, days,
			c.IsCA, c.BasicConstraintsValid, int(c.KeyUsage), c.ExtKeyUsage, c.SerialNumber.BitLen() <= 128,
			len(c.SubjectKeyId), len(c.AuthorityKeyId), c.SignatureAlgorithm)
	case "verify": // verify <keytype> <public b64> <method> <sig b64> <message file>
		pub, _ := base64.StdEncoding.DecodeString(args[2])
		sig, _ := base64.StdEncoding.DecodeString(args[4])
		key := data.NewPublicKey(args[1], pub)
		v, ok := signed.Verifiers[data.SigAlgorithm(args[3])]
		if !ok {
			fail(fmt.Errorf("no verifier for %s", args[3]))
		}
		if err := v.Verify(key, sig, read(args[5])); err != nil {
			fail(err)
		}
		fmt.Println("OK", key.ID())
	case "list": // list <trust dir>: open the key store (migrating it) and list it
		ks, err := trustmanager.NewKeyFileStore(args[1], passphrase.ConstantRetriever(""))
		if err != nil {
			fail(err)
		}
		var lines []string
		for id, info := range ks.ListKeys() {
			lines = append(lines, fmt.Sprintf("%s %s %s", id, info.Role, info.Gun))
		}
		sort.Strings(lines)
		fmt.Println(strings.Join(lines, "\n"))
	case "get": // get <trust dir> <key id> <passphrase>
		ks, err := trustmanager.NewKeyFileStore(args[1], passphrase.ConstantRetriever(args[3]))
		if err != nil {
			fail(err)
		}
		k, role, err := ks.GetKey(args[2])
		if err != nil {
			fail(err)
		}
		fmt.Println(k.ID(), role)
	default:
		fail(fmt.Errorf("unknown command %s", args[0]))
	}
}
