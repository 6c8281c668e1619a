(function(){"use strict";})();
