package awswire

import (
	"encoding/xml"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQueryError(t *testing.T) {
	for status, typ := range map[int]string{403: "Sender", 503: "Receiver"} {
		b := QueryError("https://sts.amazonaws.com/doc/2011-06-15/", status, "AccessDenied", "no <way>", "req-1")
		var doc struct {
			XMLName xml.Name
			Type    string `xml:"Error>Type"`
			Code    string `xml:"Error>Code"`
			Message string `xml:"Error>Message"`
			ID      string `xml:"RequestId"`
		}
		require.NoError(t, xml.Unmarshal(b, &doc))
		assert.Equal(t, "https://sts.amazonaws.com/doc/2011-06-15/", doc.XMLName.Space)
		assert.Equal(t, "ErrorResponse", doc.XMLName.Local)
		assert.Equal(t, typ, doc.Type)
		assert.Equal(t, "AccessDenied", doc.Code)
		assert.Equal(t, "no <way>", doc.Message, "escaped and read back")
		assert.Equal(t, "req-1", doc.ID)
	}
}
